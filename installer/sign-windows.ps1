# Authenticode-signs one file: cargo-packager calls it for videomeet.exe, the uninstaller and
# the installer when installer/package.sh finds WINDOWS_CERTIFICATE in the environment.
#   WINDOWS_CERTIFICATE           the code-signing certificate and key, a .pfx file in base64
#   WINDOWS_CERTIFICATE_PASSWORD  its password
#   WINDOWS_TIMESTAMP_URL         RFC 3161 timestamp server (default: DigiCert's)
param([Parameter(Mandatory = $true)][string]$Path)
$ErrorActionPreference = 'Stop'

$signtool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" |
    Sort-Object FullName -Descending | Select-Object -First 1
if (-not $signtool) { throw 'signtool.exe not found: install the Windows SDK' }
$timestamp = if ($env:WINDOWS_TIMESTAMP_URL) { $env:WINDOWS_TIMESTAMP_URL } else { 'http://timestamp.digicert.com' }

$pfx = Join-Path ([IO.Path]::GetTempPath()) "videomeet-signing-$PID.pfx"
[IO.File]::WriteAllBytes($pfx, [Convert]::FromBase64String($env:WINDOWS_CERTIFICATE))
try {
    & $signtool.FullName sign /fd sha256 /td sha256 /tr $timestamp /f $pfx /p $env:WINDOWS_CERTIFICATE_PASSWORD $Path
    if ($LASTEXITCODE -ne 0) { throw "signtool could not sign $Path" }
} finally {
    Remove-Item -Force $pfx
}
