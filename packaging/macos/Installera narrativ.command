#!/bin/bash
# narrativ: installs for this Mac user (no administrator rights). Double-click in Finder (the first
# time: right-click, Öppna). Run it again to update; see README, "For the kansli".
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
xattr -dr com.apple.quarantine "$HERE" 2>/dev/null || true      # the downloaded uv binary may run
UV="$HERE/uv"
APP="$HOME/Library/Application Support/narrativ"
WHEEL="$(ls "$HERE"/narrativ-*.whl 2>/dev/null | head -n 1)"
fail() { echo; echo "FEL: $1"; read -r -p "Tryck på Retur för att stänga." _; exit 1; }
[ -x "$UV" ] || fail "uv saknas i $HERE. Packa upp hela zip-filen och dubbelklicka igen."
[ -n "$WHEEL" ] || fail "narrativ-filen (.whl) saknas i $HERE."
echo "Installerar narrativ (det tar några minuter första gången) ..."
if [ -d "$HERE/wheels" ]; then
  "$UV" tool install --force --python 3.11 --offline --no-index --find-links "$HERE/wheels" --with torch==2.13.0 "$WHEEL" \
    || fail "installationen misslyckades (se meddelandena ovan)."
  FROM=(--from "$HERE/wheels")
else
  "$UV" tool install --force --python 3.11 --with torch==2.13.0 "$WHEEL" || fail "installationen misslyckades (se meddelandena ovan)."
  FROM=()
fi
BIN="$("$UV" tool dir --bin)"
echo "Installerar textmodellen ..."
"$BIN/narrativ-modell" ${FROM[@]+"${FROM[@]}"} || fail "textmodellen kunde inte installeras."
mkdir -p "$APP"
cp "$UV" "$APP/uv"
cp "$HERE/Avinstallera narrativ.command" "$APP/"
START="$HOME/Desktop/narrativ.command"
cat > "$START" <<START
#!/bin/bash
# narrativ: the page in the browser; close this window to stop it.
exec "$BIN/narrativ" serve
START
chmod +x "$START" "$APP/Avinstallera narrativ.command"
echo
echo "Klart. Starta narrativ med narrativ.command på skrivbordet. Sidan öppnas i webbläsaren;"
echo "studierna sparas i $HOME/narrativ-studier."
read -r -p "Tryck på Retur för att stänga." _
