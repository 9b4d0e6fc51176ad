#!/bin/bash
# narrativ: removes the program, its start file and the text model; the studies stay.
APP="$HOME/Library/Application Support/narrativ"
UV="$APP/uv"
[ -x "$UV" ] || UV="$(cd "$(dirname "$0")" && pwd)/uv"
"$UV" tool uninstall narrativ
rm -f "$HOME/Desktop/narrativ.command"
rm -rf "$APP"
echo "narrativ är borttaget. Studierna finns kvar i $HOME/narrativ-studier: ta bort mappen själv om de inte behövs."
read -r -p "Tryck på Retur för att stänga." _
