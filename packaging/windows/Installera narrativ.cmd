@echo off
rem narrativ: installs for this Windows user (no administrator rights, no terminal to type in).
rem Double-click this file in the unpacked folder. Run it again to update; see README, "For the kansli".
chcp 65001 >nul
setlocal EnableExtensions
title Installerar narrativ
set "HERE=%~dp0"
set "UV=%HERE%uv.exe"
set "APP=%LOCALAPPDATA%\narrativ"
if not exist "%UV%" (
  echo FEL: uv.exe saknas i mappen %HERE%. Packa upp hela zip-filen och dubbelklicka igen.
  pause & exit /b 1
)
set "WHEEL="
for %%W in ("%HERE%narrativ-*.whl") do set "WHEEL=%%~fW"
if not defined WHEEL (
  echo FEL: narrativ-filen ^(.whl^) saknas i mappen %HERE%.
  pause & exit /b 1
)
echo Installerar narrativ (det tar några minuter första gången) ...
if exist "%HERE%wheels\" (
  rem offline bundle: everything from the folder, nothing from the internet
  "%UV%" tool install --force --python 3.11 --offline --no-index --find-links "%HERE%wheels" --with torch==2.13.0 "%WHEEL%"
) else (
  "%UV%" tool install --force --python 3.11 --with torch==2.13.0 "%WHEEL%"
)
if errorlevel 1 (
  echo.
  echo FEL: installationen misslyckades. Visa meddelandena ovan för IT-avdelningen.
  pause & exit /b 1
)
for /f "usebackq delims=" %%B in (`"%UV%" tool dir --bin`) do set "BIN=%%B"
echo Installerar textmodellen ...
if exist "%HERE%wheels\" (
  "%BIN%\narrativ-modell.exe" --from "%HERE%wheels"
) else (
  "%BIN%\narrativ-modell.exe"
)
if errorlevel 1 (
  echo FEL: textmodellen kunde inte installeras.
  pause & exit /b 1
)
if not exist "%APP%" mkdir "%APP%"
copy /y "%UV%" "%APP%\uv.exe" >nul
copy /y "%HERE%Avinstallera narrativ.cmd" "%APP%\Avinstallera narrativ.cmd" >nul
> "%APP%\Starta narrativ.cmd" (
  echo @echo off
  echo chcp 65001 ^>nul
  echo title narrativ - stäng fönstret för att avsluta
  echo "%BIN%\narrativ.exe" serve
  echo pause
)
powershell -NoProfile -ExecutionPolicy Bypass -Command ^
  "$w = New-Object -ComObject WScript.Shell;" ^
  "foreach ($d in @([Environment]::GetFolderPath('Desktop'), [Environment]::GetFolderPath('Programs'))) {" ^
  "  $s = $w.CreateShortcut((Join-Path $d 'narrativ.lnk'));" ^
  "  $s.TargetPath = (Join-Path $env:LOCALAPPDATA 'narrativ\Starta narrativ.cmd');" ^
  "  $s.WorkingDirectory = $env:USERPROFILE; $s.Description = 'narrativ: fritextsvar till teman och berättelse'; $s.Save() }"
echo.
echo Klart. Starta narrativ med genvägen "narrativ" på skrivbordet (eller i Start-menyn).
echo Sidan öppnas i webbläsaren; studierna sparas i %USERPROFILE%\narrativ-studier.
pause
