"""`narrativ serve`: start the page on this machine and print its address with the access token."""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(studies: Path, port: int | None = None, host: str = "127.0.0.1", open_browser: bool = True,
          new_token: bool = False) -> int:
    """Run the page until Ctrl+C. The access token is kept in the studies folder (see
    security.saved_token), so a restart keeps the same user's links working. On Ctrl+C the
    server stops taking requests; a job still running is cut off (what it stored stays, and the
    next start says so) and the process ends at once: letting the interpreter tear down a thread
    that is inside native code (torch, numba/OpenMP pools) aborts with "terminate called without
    an active exception"."""
    import uvicorn

    from .. import config
    from .app import create_app
    from .security import saved_token

    port = port or config.defaults()["web"]["port"]
    if host not in LOOPBACK:
        print(f"VARNING: sidan nås nu från andra datorer via {host}. Data om deltagare kan då läsas av "
              "alla som har länken och når den här datorn. Använd det bara om du vet varför.", file=sys.stderr)
    Path(studies).mkdir(parents=True, exist_ok=True)
    token, note = saved_token(studies, renew=new_token)
    if note:
        print(note, file=sys.stderr)
    # an explicit other address: reached by this machine's names and addresses (the token still guards it)
    app = create_app(studies, token, hosts=[] if host in LOOPBACK else ["*"])
    url = f"http://{'127.0.0.1' if host in LOOPBACK else host}:{port}/?token={token}"
    print(f"narrativ körs. Öppna sidan i webbläsaren (länken innehåller din åtkomstkod):\n\n    {url}\n")
    print(f"Studierna sparas i {Path(studies).resolve()}. Stäng med Ctrl+C.")
    from .app import interrupted_text
    for name, job in app.state.interrupted.items():
        print(f"Obs! {name}: {interrupted_text(job)}")
    if open_browser:
        def launch():
            import webbrowser
            try:
                webbrowser.open(url)
            except webbrowser.Error:
                pass
        threading.Timer(1.0, launch).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return stopped(app.state.runner)


def stopped(runner) -> int:
    """After the server stopped: say so; with a job still running, end the process now (see serve)."""
    busy = runner.running_jobs()
    for job in busy:
        print(f"'{job.label}' för studien {job.study} avbröts. Det som hann sparas finns kvar; "
              "starta steget igen när sidan är igång.")
    print("narrativ är stängd. Starta igen med samma kommando; länken fungerar som förut.")
    if busy:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
