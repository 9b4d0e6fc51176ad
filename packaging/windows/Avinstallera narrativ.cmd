@echo off
rem narrativ: removes the program, its shortcuts and the text model; the studies stay.
chcp 65001 >nul
setlocal EnableExtensions
title Avinstallerar narrativ
set "APP=%LOCALAPPDATA%\narrativ"
set "UV=%APP%\uv.exe"
if not exist "%UV%" set "UV=%~dp0uv.exe"
"%UV%" tool uninstall narrativ
del /q "%USERPROFILE%\Desktop\narrativ.lnk" 2>nul
powershell -NoProfile -Command "foreach ($d in @([Environment]::GetFolderPath('Desktop'), [Environment]::GetFolderPath('Programs'))) { Remove-Item -ErrorAction SilentlyContinue (Join-Path $d 'narrativ.lnk') }"
echo narrativ är borttaget. Studierna finns kvar i %USERPROFILE%\narrativ-studier: ta bort mappen själv om de inte behövs.
rem the folder holding this script last (cmd reads a script while it runs)
start "" /b cmd /c "timeout /t 2 >nul & rmdir /s /q "%APP%""
pause
