"""`narrativ serve`: start the page on this machine and print its address with the access token."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(studies: Path, port: int | None = None, host: str = "127.0.0.1", open_browser: bool = True) -> int:
    import uvicorn

    from .. import config
    from .app import create_app
    from .security import new_token

    port = port or config.defaults()["web"]["port"]
    if host not in LOOPBACK:
        print(f"VARNING: sidan nås nu från andra datorer via {host}. Data om deltagare kan då läsas av "
              "alla som har länken och når den här datorn. Använd det bara om du vet varför.", file=sys.stderr)
    token = new_token()
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
    return 0
