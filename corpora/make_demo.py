"""Build the demo corpus in corpora/demo/ (invented text only, written for this project).

    python corpora/make_demo.py

Writes:
* enkatsvar_2025.xlsx: 180 invented survey respondents (three teams, forms pågående/avslut),
  two free-text questions, a satisfaction score and background columns. A few answers carry
  invented person names and phone numbers on purpose, for the pseudonymisation work.
* intervjuer_norrvik.docx, intervju_sjoholm_deltagare.docx, intervju_forsakringskassan.docx:
  invented evaluation interviews with "Intervju med ..." headings.

Deterministic: the same script gives the same answers (fixed random seed).
"""
from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).parent / "demo"

# Sentences per theme, written for the demo (invented; no real answers).
GOOD = {
    "struktur": [
        "Jag har fått rutiner i vardagen igen.",
        "Att ha en tid att passa varje morgon har gjort att jag kommer upp ur sängen.",
        "Veckoschemat ger mig något att hålla mig i.",
        "Det är skönt att veta vad som ska hända varje vecka.",
        "Jag äter frukost och går hemifrån tre dagar i veckan nu, det gjorde jag inte förut.",
        "Strukturen med fasta dagar har hjälpt mig att sova bättre.",
        "Små steg och tydliga mål varje vecka passade mig.",
        "Planeringen vi gjorde tillsammans gjorde att jag visste vart jag var på väg.",
    ],
    "gemenskap": [
        "Jag har träffat andra som är i samma sits som jag.",
        "Förut satt jag hemma ensam hela dagarna, nu har jag ett sammanhang.",
        "Gruppträffarna gav mig nya vänner.",
        "Det bästa var fikat och samtalen med de andra deltagarna.",
        "Jag känner mig inte lika ensam längre.",
        "Att laga lunch tillsammans i gruppen var något jag såg fram emot.",
        "Promenadgruppen fick ut mig bland folk igen.",
        "Jag har vågat prata i grupp för första gången på flera år.",
    ],
    "bemotande": [
        "Personalen lyssnar på riktigt och tar sig tid.",
        "Jag har blivit bemött som en hel person och aldrig som ett ärende.",
        "Här blir man sedd och ingen dömer en.",
        "Min coach har trott på mig även när jag själv inte gjorde det.",
        "Alla är vänliga och man känner sig välkommen från första dagen.",
        "Det kändes tryggt att kunna säga som det är utan att bli ifrågasatt.",
        "De har haft tålamod med mig när jag haft dåliga perioder.",
        "Jag blev lyssnad på och fick vara med och bestämma takten.",
    ],
    "myndigheter": [
        "Jag fick hjälp att förstå breven från Försäkringskassan.",
        "Teamet följde med mig på mötet med Arbetsförmedlingen.",
        "Äntligen pratar myndigheterna med varandra i stället för att skicka runt mig.",
        "Det är skönt att slippa berätta min historia för fem olika handläggare.",
        "De hjälpte mig att söka aktivitetsersättning.",
        "Samordningen mellan vården och Arbetsförmedlingen har fungerat bra.",
        "Jag fick stöd när jag skulle ansöka om bostadsbidrag.",
        "Handläggaren från kommunen och den från Försäkringskassan satt i samma rum, det gjorde stor skillnad.",
    ],
    "halsa": [
        "Min ångest har minskat mycket sedan jag började här.",
        "Jag mår bättre psykiskt än jag gjort på länge.",
        "Jag har börjat träna och röra mig mer.",
        "Samtalen med kuratorn har hjälpt mig att hantera stressen.",
        "Jag sover bättre och orkar mer på dagarna.",
        "Mindfulnessövningarna använder jag fortfarande hemma.",
        "Jag har lärt mig att känna igen när jag håller på att gå in i väggen.",
        "Min depression är inte borta men jag har verktyg nu.",
    ],
    "arbete": [
        "Arbetsträningen på lagret gav mig självförtroende.",
        "Jag har fått en praktikplats som kan bli en anställning.",
        "Jag har börjat läsa på komvux för att få gymnasiebehörighet.",
        "Nu vet jag vilket jobb jag vill söka.",
        "Praktiken i köket var tuff men rolig.",
        "Jag jobbar nu tjugo procent och ska trappa upp efter sommaren.",
        "De hjälpte mig att skriva ett cv som jag är stolt över.",
        "Jag har fått prova på olika arbetsuppgifter och hittat något som passar.",
    ],
    "sjalvkansla": [
        "Jag tror mer på mig själv nu.",
        "Jag har förstått vad jag klarar av och vad jag behöver hjälp med.",
        "Jag har hittat tillbaka till den jag var innan jag blev sjuk.",
        "Jag vågar ta kontakt med folk på egen hand.",
        "Jag har insett att jag har något att bidra med.",
        "Jag har vuxit som person under den här tiden.",
        "Jag känner hopp inför framtiden igen.",
        "Jag har slutat skämmas för att jag har varit sjukskriven.",
    ],
}
WISHES = [
    "Jag hade önskat fler träffar i veckan.",
    "Det var jobbigt när min kontaktperson slutade och jag fick börja om med någon ny.",
    "Lokalerna är trånga och det är svårt att prata ostört.",
    "Bussen går sällan så det är svårt att ta sig hit.",
    "Insatsen borde få pågå längre, ett år räcker inte för alla.",
    "Mer praktik ute på riktiga arbetsplatser.",
    "Ibland kändes schemat för styrt när jag mådde dåligt.",
    "Det tog lång tid innan jag fick komma in, väntetiden var flera månader.",
    "Fler aktiviteter på kvällstid för oss som tränar på dagarna.",
    "Jag hade behövt mer hjälp med ekonomin.",
    "Bättre information i början om vad insatsen innebär.",
    "Att man får fortsätta träffa gruppen även efter avslut.",
    "Det var för lite tid med arbetskonsulenten.",
    "Fler grupper för oss som inte pratar så bra svenska.",
    "Jag hade velat ha mer kontakt med vården under tiden.",
    "Sluta skära ner på personalen.",
]
NOTHING = [
    "Inget, allt har varit bra.",
    "Vet inte, jag är nöjd.",
    "Fortsätt som ni gör!",
    "Ingenting, det har fungerat jättebra.",
    "Svårt att säga, det mesta har varit bra.",
]
SHORT_GOOD = ["Allt!", "Bra bemötande.", "Personalen.", "Gemenskapen.", "Att jag fick komma hit."]
AVSLUT_OUTCOME = [
    "Nu har jag ett jobb att gå till.",
    "Jag börjar studera till hösten.",
    "Jag har fått en anställning med lönebidrag.",
    "Jag går vidare till arbetsträning via Arbetsförmedlingen.",
    "Jag är inte klar för jobb än men jag vet vad nästa steg är.",
]
# Answers with invented personal details (names, phone numbers) for the privacy work.
PERSONAL = [
    ("Min coach Lena Berglund har betytt allt för mig, hon har aldrig gett upp.", "Inget, tack Lena!"),
    ("Kuratorn Ahmed var lätt att prata med och han förstod mig.", "Mer tid med Ahmed."),
    ("Jag fick hjälp av Sofia Nyström att förbereda mig inför läkarbesöket.", "Fler träffar."),
    ("Bra stöd hela vägen.", "Ring mig gärna på 070-412 88 31 om ni vill veta mer, jag hjälper gärna till."),
    ("Peter Lundgren på Arbetsförmedlingen och teamet samarbetade bra kring min praktik.", "Kortare väntetid."),
    ("Handläggaren Karin följde med mig till Försäkringskassan.", "Skicka gärna info till mig på 0734-55 21 09."),
]
TEAMS = ["Norrvik", "Sjöholm", "Ekbacka"]
# How people actually write: the same thought in slightly different words, with or without a
# thank-you, sometimes in lower case or without a full stop.
LEADS = ["Det viktigaste är att ", "Framför allt att ", "Mest av allt att ", "Jag måste säga att ", "Ärligt talat så "]
TAILS = [" Tack!", " Tack för allt.", " :)", " <3", " Det betyder mycket."]


def vary(sentence: str, rng: random.Random) -> str:
    if sentence.startswith("Jag ") and rng.random() < 0.25:
        sentence = rng.choice(LEADS) + sentence[0].lower() + sentence[1:]
    r = rng.random()
    if r < 0.1:
        sentence = sentence[0].lower() + sentence[1:]
    elif r < 0.2:
        sentence = sentence.rstrip(".")
    return sentence


def make_answers(rng: random.Random, n: int = 180) -> list[dict]:
    themes = list(GOOD)
    rows = []
    personal_at = {17: 0, 44: 1, 71: 2, 98: 3, 125: 4, 152: 5}
    for i in range(n):
        team = TEAMS[i % 3]
        form = "avslut" if rng.random() < 0.4 else "pågående"
        if i in personal_at:
            good, better = PERSONAL[personal_at[i]]
        else:
            r = rng.random()
            if r < 0.08:
                good = rng.choice(SHORT_GOOD)
            else:
                k = rng.choice([1, 1, 2, 2, 2, 3])
                picked = rng.sample(themes, k=min(k, 2))
                sentences = [rng.choice(GOOD[t]) for t in picked]
                if k == 3:
                    sentences.append(rng.choice(GOOD[picked[0]]))
                sentences = [vary(x, rng) for x in dict.fromkeys(sentences)]
                if form == "avslut" and rng.random() < 0.5:
                    sentences.append(rng.choice(AVSLUT_OUTCOME))
                good = " ".join(sentences)
                if rng.random() < 0.15:
                    good += rng.choice(TAILS)
            r = rng.random()
            if r < 0.35:
                better = rng.choice(NOTHING)
            elif r < 0.45:
                better = None
            else:
                better = " ".join(vary(x, rng) for x in rng.sample(WISHES, k=rng.choice([1, 1, 2])))
        rows.append({
            "Löpnummer": 1001 + i,
            "Team": team,
            "Formulär": "Avslut" if form == "avslut" else "Pågående",
            "År": 2025,
            "Kön": rng.choice(["Kvinna", "Man", "Kvinna", "Man", "Annat/vill ej svara"]),
            "Åldersgrupp": rng.choice(["18-29", "30-44", "45-64"]),
            "Hur nöjd är du totalt? (1-5)": rng.choice([3, 4, 4, 5, 5, 5]),
            "Vad har varit bra med stödet du fått?": good,
            "Vad skulle kunna bli bättre?": better,
        })
    return rows


def write_xlsx(rows: list[dict], path: Path) -> None:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "Svar"
    header = list(rows[0])
    ws.append(header)
    for row in rows:
        ws.append([row[h] for h in header])
    ws.column_dimensions["H"].width = 80
    ws.column_dimensions["I"].width = 60
    wb.properties.creator = "narrativ demo"
    wb.properties.created = wb.properties.modified = __import__("datetime").datetime(2025, 12, 1)
    wb.save(path)


INTERVIEWS = {
    "intervjuer_norrvik.docx": ("Intervjuer i Norrviks kommun", [
        ("Intervju med Maria Lindqvist, verksamhetsledare i Samordningsteam Norrvik 2025-03-14", [
            "Maria har lett teamet sedan starten för tre år sedan. Hon beskriver att det första året handlade mycket om att hitta ett gemensamt arbetssätt mellan personal från kommunen, Arbetsförmedlingen och regionen.",
            "Enligt Maria är gruppverksamheten kärnan i arbetet. Deltagarna börjar i en introduktionsgrupp på sex veckor och går sedan vidare till olika temagrupper, till exempel hälsa, arbete och vardagsekonomi.",
            "Det största hindret just nu är väntetiden. Det står femton personer i kö och teamet hinner inte ta emot alla. Maria tycker att förbundet borde se över om fler platser kan finansieras.",
            "Samverkan med Försäkringskassan har blivit bättre sedan handläggaren började komma till teamets lokaler varannan vecka. Det gör att frågor kan lösas direkt i stället för via brev.",
            "Maria vill att teamet framöver ska arbeta mer med uppföljning efter avslut, eftersom flera deltagare hör av sig efter några månader och saknar gruppen.",
        ]),
        ("Intervju med deltagare nr 1 (kvinna) hos Samordningsteam Norrvik 2025-03-20", [
            "Kvinnan har gått i teamet ungefär ett år. Innan dess var hon sjukskriven i flera år och beskriver att hon nästan inte lämnade lägenheten.",
            "Hon säger att det viktigaste har varit att få komma till ett ställe där ingen ställer krav som hon inte klarar. Personalen har låtit henne ta det i sin egen takt.",
            "Gruppträffarna var jobbiga i början men nu ser hon fram emot dem. Hon har fått två nya vänner som hon träffar även på helgerna.",
            "Det hon saknar är mer hjälp med att hitta en praktikplats. Hon känner sig redo att prova men tycker att det går långsamt.",
        ]),
    ]),
    "intervju_sjoholm_deltagare.docx": ("Intervjuer i Sjöholms kommun", [
        ("Intervju med deltagare nr 2 (man) i Sjöholm 2025-04-03", [
            "Mannen kom till teamet efter en lång tid av arbetslöshet och missbruk. Han har varit nykter i två år och beskriver teamet som en viktig del av att han har hållit sig på banan.",
            "Han uppskattar mest att personalen har hjälpt honom med kontakterna med myndigheterna. Tidigare fick han brev som han inte förstod och som han lät bli att öppna.",
            "Nu arbetstränar han på en återvinningscentral tre dagar i veckan och hoppas att det kan leda till ett jobb.",
            "Han tycker att bussförbindelserna är ett problem. Den sista bussen hem går tidigt och det gör det svårt att vara med på aktiviteter på eftermiddagen.",
        ]),
    ]),
    "intervju_forsakringskassan.docx": ("Intervjuer med förbundets parter", [
        ("Intervju med Johan Ek, samordnare på Försäkringskassan i Sjöholm 2025-04-10", [
            "Johan har representerat Försäkringskassan i teamens styrgrupp i två år. Han ser att teamen når en grupp som myndigheten annars har svårt att hjälpa, personer som varit långt från arbetsmarknaden länge.",
            "Han menar att nyttan syns i att fler deltagare går vidare till arbetsinriktade insatser. Samtidigt är det svårt att mäta resultaten, eftersom stegen ofta är små och tar tid.",
            "För Försäkringskassan är det viktigt att handläggarna kan vara fysiskt på plats i teamen. Det har ibland varit svårt att få loss tid, men han anser att det är värt besväret.",
            "Johan önskar en tydligare gemensam uppföljning mellan parterna så att alla talar om samma siffror.",
        ]),
        ("Intervju med Anders Holm, ordförande i socialnämnden i Ekbacka 2025-05-06", [
            "Anders beskriver att politikerna i kommunen ser teamet som en bra investering. Varje person som går vidare till arbete eller studier minskar kostnaderna för försörjningsstöd.",
            "Han har besökt teamet två gånger och träffat deltagare. Det som gjorde störst intryck var att höra deltagarna själva berätta om hur de fått tillbaka hoppet.",
            "Inför budgeten nästa år är han orolig för att parterna ska minska sina bidrag. Han vill att förbundet tar fram bättre underlag om vad insatserna leder till på längre sikt.",
        ]),
    ]),
}


def write_docx(path: Path, group: str, interviews: list) -> None:
    import docx
    document = docx.Document()
    document.core_properties.author = "narrativ demo"
    document.core_properties.created = __import__("datetime").datetime(2025, 6, 1)
    document.add_heading("Utvärdering av samordningsteamen 2025", level=0)
    document.add_heading(group, level=1)
    for heading, paragraphs in interviews:
        document.add_heading(heading, level=2)
        for para in paragraphs:
            document.add_paragraph(para)
    document.save(path)


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2025)
    write_xlsx(make_answers(rng), HERE / "enkatsvar_2025.xlsx")
    for name, (group, interviews) in INTERVIEWS.items():
        write_docx(HERE / name, group, interviews)
    print(f"demo corpus written to {HERE}")


if __name__ == "__main__":
    main()
