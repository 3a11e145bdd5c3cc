; The Windows installer of a cross-built videomeet.exe, made by makensis (Debian's nsis
; package) without anything downloaded: installer/check-windows.sh builds it and installs,
; checks and removes it under Wine. Installs for the current user (no administrator), in
; %LOCALAPPDATA%\Programs\Video Meet: the program, the C++ runtime DLLs a MinGW build needs,
; a Start menu entry, the videomeet:// link type, and an entry in Apps & features.
;
;   makensis -DVERSION=0.1.0 -DEXE=path\videomeet.exe -DRUNTIME=folder-of-dlls \
;            -DOUT=videomeet_0.1.0_x64-setup.exe installer/windows/videomeet.nsi

; A 64-bit installer for a 64-bit program (and Wine without its 32-bit half runs it).
Target amd64-unicode
SetCompressor /SOLID lzma

!ifndef VERSION | EXE | RUNTIME | OUT
  !error "give VERSION, EXE, RUNTIME and OUT with -D"
!endif

!define PRODUCT "Video Meet"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\VideoMeet"
!define LINK_KEY "Software\Classes\videomeet"

Name "${PRODUCT}"
OutFile "${OUT}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\${PRODUCT}"
InstallDirRegKey HKCU "Software\${PRODUCT}" "InstallDir"
Icon "..\..\assets\videomeet.ico"
UninstallIcon "..\..\assets\videomeet.ico"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "FileDescription" "${PRODUCT} installer"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "Video Meet developers, MIT or Apache-2.0"

!include "MUI2.nsh"
!define MUI_ICON "..\..\assets\videomeet.ico"
!define MUI_UNICON "..\..\assets\videomeet.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\videomeet.exe"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Video Meet"
  SetOutPath "$INSTDIR"
  File "/oname=videomeet.exe" "${EXE}"
  File "${RUNTIME}\libstdc++-6.dll"
  File "${RUNTIME}\libgcc_s_seh-1.dll"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\videomeet.exe"
  WriteRegStr HKCU "Software\${PRODUCT}" "InstallDir" "$INSTDIR"

  ; videomeet://HOST:PORT/CODE links open the program on that meeting.
  WriteRegStr HKCU "${LINK_KEY}" "" "URL:Video Meet link"
  WriteRegStr HKCU "${LINK_KEY}" "URL Protocol" ""
  WriteRegStr HKCU "${LINK_KEY}\DefaultIcon" "" "$INSTDIR\videomeet.exe,0"
  WriteRegStr HKCU "${LINK_KEY}\shell\open\command" "" '"$INSTDIR\videomeet.exe" "%1"'

  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "Video Meet developers"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\videomeet.exe,0"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  Delete "$INSTDIR\videomeet.exe"
  Delete "$INSTDIR\libstdc++-6.dll"
  Delete "$INSTDIR\libgcc_s_seh-1.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  ; The link type only if it is still ours.
  ReadRegStr $0 HKCU "${LINK_KEY}\shell\open\command" ""
  StrCmp $0 '"$INSTDIR\videomeet.exe" "%1"' 0 +2
    DeleteRegKey HKCU "${LINK_KEY}"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "Software\${PRODUCT}"
SectionEnd
