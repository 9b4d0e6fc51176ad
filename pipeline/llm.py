"""Optional drafter: an OpenAI-compatible chat endpoint on the user's own machine (Ollama,
llama.cpp server, vLLM). It is sent the pseudonymised themes and quotes only, and its draft
goes through the same grounding check as the deterministic one (pipeline.draft.verify).

Plain urllib: the protocol is one small JSON POST to {base_url}/chat/completions.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from urllib.parse import urlparse

from .grounding import CITATION, COUNT, Draft, DraftError, Material, Paragraph, Sentence, quantity, without_quotes
from .grounding import _segmenter

log = logging.getLogger(__name__)

SYSTEM = """Du skriver avsnittet "Narrativ berättelse – sammanfattning av fritextsvar av deltagare" i en årsrapport
för ett samordningsförbund. Skriv på saklig, varm svenska i löpande text, 4–8 stycken.
Regler:
- Använd bara det underlag du får: antal, andelar, temanamn och citat. Hitta inte på något.
- Citat återges ordagrant inom ” ” och bara ur underlaget.
- Skriv inga namn. Platshållare som [NAMN 1] får inte förekomma i texten.
- Använd ordet för förekomst som anges för varje tema (t.ex. "många", "flera", "några").
- Avsluta VARJE stycke med de segment-id som stycket bygger på, inom hakparentes: [id1, id2]."""


def is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host in ("localhost",):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            ip = ipaddress.ip_address(socket.gethostbyname(host))
        except OSError:
            return False
    return ip.is_loopback or ip.is_private


class LLMDrafter:
    def __init__(self, dcfg: dict):
        self.cfg = dcfg
        self.url = dcfg["llm_url"].rstrip("/")
        self.model = dcfg["llm_model"] or "default"
        self.timeout = dcfg["llm_timeout"]
        self._checked = False      # where the endpoint is: found out at the first request, not here

    def _check_endpoint(self) -> None:
        """Warn once when the endpoint is not on this machine or a private network (this may
        look the host name up, so it runs just before the first request)."""
        if not self._checked:
            self._checked = True
            if not is_local(self.url):
                log.warning("the LLM endpoint is not on this machine or a private network; "
                            "pseudonymised text is still personal data")

    def prompt(self, m: Material) -> str:
        lines = [f"Antal deltagare som svarat: {m.respondents}.", "Teman (störst först):"]
        for t in [t for t in m.themes if t.voice_respondents > 0][:12]:
            n = m.recount({"theme": t.id}, list(m.carriers({"theme": t.id})))
            if not n:
                continue
            lines.append(f"\nTema: {t.label} — {quantity(n, m.respondents, self.cfg)} ({n} av {m.respondents})")
            if t.narrative:
                lines.append(f"Deltagarna {t.narrative}.")
            if t.keywords:
                lines.append("Nyckelord: " + ", ".join(t.keywords[:6]))
            voice = [s for s in t.representative + t.segment_ids if m.segments.get(s, {}).get("voice")]
            for sid in list(dict.fromkeys(voice))[:3]:
                lines.append(f"Citat [{sid}]: ”{m.segments[sid]['text']}”")
        return "\n".join(lines)

    def ask(self, prompt: str) -> str:
        body = json.dumps({"model": self.model, "temperature": 0,
                           "messages": [{"role": "system", "content": SYSTEM},
                                        {"role": "user", "content": prompt}]}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.cfg.get("llm_api_key"):
            headers["Authorization"] = f"Bearer {self.cfg['llm_api_key']}"
        self._check_endpoint()
        request = urllib.request.Request(self.url + "/chat/completions", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = json.loads(response.read().decode("utf-8"))
            return data["choices"][0]["message"]["content"]
        except urllib.error.HTTPError as exc:
            raise DraftError(f"språkmodellen på {self.url} svarade med fel {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DraftError(f"språkmodellen på {self.url} gick inte att nå ({getattr(exc, 'reason', exc)})") from None
        except (ValueError, KeyError, IndexError, TypeError):
            raise DraftError(f"språkmodellen på {self.url} gav ett svar som inte följer protokollet") from None

    def draft(self, m: Material) -> Draft:
        reply = self.ask(self.prompt(m))
        d = Draft(title=self.cfg["title"], drafter=f"llm:{self.model}", respondents=m.respondents)
        for block in [b.strip() for b in reply.replace("\r", "").split("\n\n") if b.strip()]:
            if block.startswith("#"):
                continue
            match = CITATION.search(block)
            ids = [s.strip() for s in match.group(1).split(",")] if match else []
            text = " ".join((block[: match.start()].strip() if match else block).split())
            claims = [t.id for t in m.themes if set(t.segment_ids) & set(ids)]
            sentences = [_counted(Sentence(text[s:e].strip(), ids, claims), m) for s, e in _sentences(text)] if ids else []
            d.paragraphs.append(Paragraph("llm", text, ids, sentences=sentences))
        if not d.paragraphs:
            raise DraftError("språkmodellen gav inget utkast")
        return d


def _counted(s: Sentence, m: Material) -> Sentence:
    """Attach to each "N av M" of a model's sentence the theme it counts: a theme the sentence
    cites whose carriers number N of M participants; the sentence then cites those carriers, so
    that the grounding check recounts them. A number no cited theme gives is left unattached,
    and the check refuses it."""
    specs, ids = [], list(s.segment_ids)
    for n, base in COUNT.findall(without_quotes(s.text)):
        for tid in s.claims:
            spec = {"theme": tid, "where": {}}
            carriers = [c for c in m.carriers(spec) if c in m.segments]
            if int(base) == m.respondents and m.recount(spec, carriers) == int(n):
                specs.append({**spec, "n": int(n), "base": int(base)})
                ids += [c for c in carriers if c not in ids]
                break
        else:
            return s
    return Sentence(s.text, ids, s.claims, specs)


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (the segmenter's splitter), so that each sentence is checked on its own."""
    return _segmenter().sentences(text) or [(0, len(text))]
