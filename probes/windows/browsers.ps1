# undone section windows.browsers: web browser extensions per user and profile, and what stops
# a browser from updating itself.
# Reads: which of Chrome, Edge and Firefox are installed (their program files, and per-user
# Chrome under each profile's AppData\Local); the update policies (HKLM\SOFTWARE\Policies\Google
# \Update, ...\Microsoft\EdgeUpdate: UpdateDefault, Update{app}, AutoUpdateCheckPeriodMinutes;
# ...\Mozilla\Firefox: DisableAppUpdate, AppAutoUpdate; Firefox's distribution\policies.json);
# the updaters' services (gupdate, gupdatem, GoogleUpdater*, edgeupdate, edgeupdatem) and
# scheduled tasks (GoogleUpdate*, GoogleUpdater*, MicrosoftEdgeUpdate*); for each folder under
# C:\Users: Chrome and Edge profiles (Preferences, Secure Preferences, and each extension's
# manifest.json with its default locale's messages.json) and Firefox profiles (extensions.json).
# Privilege: an administrator reads every user's profile; another user only their own.
# Writes nothing. File contents are capped per file and within a budget for the section; a file
# left out says why.
$r = [ordered]@{}
$script:budget = 1200000
function undone_textfile([string]$path) {
  if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { return [ordered]@{ status = 'absent' } }
  try {
    $size = (Get-Item -LiteralPath $path -Force).Length
    if ($size -gt 524288) { return [ordered]@{ status = 'toolarge'; size = $size } }
    if ($size -gt $script:budget) { return [ordered]@{ status = 'budget'; size = $size } }
    $text = [IO.File]::ReadAllText($path, [Text.Encoding]::UTF8)
    $script:budget -= $size
    return [ordered]@{ status = 'ok'; text = $text }
  } catch { return [ordered]@{ status = 'unreadable'; error = (undone_why $_) } }
}
$pf = @($env:ProgramFiles, ${env:ProgramFiles(x86)}) | Where-Object { $_ } | Select-Object -Unique
$homes = @(Get-ChildItem -LiteralPath (Join-Path $env:SystemDrive 'Users') -Directory -Force `
    -ErrorAction SilentlyContinue | Where-Object { $_.Name -notin @('Public', 'Default',
      'Default User', 'All Users') })
$r.installed = undone_list {
  $exes = @(@('Google Chrome', 'Google\Chrome\Application\chrome.exe'),
    @('Microsoft Edge', 'Microsoft\Edge\Application\msedge.exe'),
    @('Mozilla Firefox', 'Mozilla Firefox\firefox.exe'))
  foreach ($e in $exes) {
    foreach ($base in $pf) {
      $p = Join-Path $base $e[1]
      if (Test-Path -LiteralPath $p) {
        [ordered]@{ browser = $e[0]; path = $p; scope = 'machine'
          version = [string](Get-Item -LiteralPath $p).VersionInfo.ProductVersion }
      }
    }
  }
  foreach ($h in $homes) {
    $p = Join-Path $h.FullName 'AppData\Local\Google\Chrome\Application\chrome.exe'
    if (Test-Path -LiteralPath $p) {
      [ordered]@{ browser = 'Google Chrome'; path = $p; scope = ('user:' + $h.Name)
        version = [string](Get-Item -LiteralPath $p).VersionInfo.ProductVersion }
    }
  }
}
$r.google_update = undone_regvalues 'SOFTWARE\Policies\Google\Update' @('UpdateDefault',
  'Update{8A69D345-D564-463C-AFF1-A69D9E530F96}', 'AutoUpdateCheckPeriodMinutes')
$r.edge_update = undone_regvalues 'SOFTWARE\Policies\Microsoft\EdgeUpdate' @('UpdateDefault',
  'Update{56EB18F8-B008-4CBD-B6D2-8C97FE7E9062}', 'AutoUpdateCheckPeriodMinutes')
$r.firefox_policy = undone_regvalues 'SOFTWARE\Policies\Mozilla\Firefox' @('DisableAppUpdate',
  'AppAutoUpdate')
$r.firefox_policies_json = undone_list {
  foreach ($base in $pf) {
    $p = Join-Path $base 'Mozilla Firefox\distribution\policies.json'
    if (Test-Path -LiteralPath $p) { [ordered]@{ path = $p; file = (undone_textfile $p) } }
  }
}
$r.services = undone_list {
  $filter = "Name LIKE 'gupdate%' OR Name LIKE 'GoogleUpdater%' OR Name LIKE 'edgeupdate%'"
  Get-CimInstance -ClassName Win32_Service -Filter $filter | ForEach-Object {
    [ordered]@{ name = [string]$_.Name; state = [string]$_.State; start_mode = [string]$_.StartMode }
  }
}
$r.tasks = undone_list {
  Get-ScheduledTask -ErrorAction Stop | Where-Object {
    $_.TaskName -match '^(GoogleUpdate|GoogleUpdater|MicrosoftEdgeUpdate)' } | ForEach-Object {
    [ordered]@{ name = [string]$_.TaskName; state = [string]$_.State }
  }
}
$r.profiles = undone_list {
  $chromium = @(@('edge', 'AppData\Local\Microsoft\Edge\User Data'),
    @('google-chrome', 'AppData\Local\Google\Chrome\User Data'))
  $n = 0
  foreach ($h in $homes) {
    foreach ($c in $chromium) {
      $base = Join-Path $h.FullName $c[1]
      if (-not (Test-Path -LiteralPath $base)) { continue }
      foreach ($d in @(Get-ChildItem -LiteralPath $base -Directory -Force -ErrorAction SilentlyContinue)) {
        $prefs = Join-Path $d.FullName 'Preferences'
        if (-not (Test-Path -LiteralPath $prefs)) { continue }
        $n += 1
        if ($n -gt 60) { [ordered]@{ truncated = 'profiles' }; return }
        $exts = @()
        $extdir = Join-Path $d.FullName 'Extensions'
        foreach ($m in @(Get-ChildItem -LiteralPath $extdir -Filter 'manifest.json' -Recurse -Depth 2 `
              -File -Force -ErrorAction SilentlyContinue | Select-Object -First 201)) {
          $ver = $m.Directory.Name
          $id = $m.Directory.Parent.Name
          $entry = [ordered]@{ id = $id; folder = $ver; manifest = (undone_textfile $m.FullName) }
          if ($entry.manifest.status -eq 'ok' -and
              $entry.manifest.text -match '"default_locale"\s*:\s*"([A-Za-z_-]+)"') {
            $msg = Join-Path $m.Directory.FullName ('_locales\' + $Matches[1] + '\messages.json')
            $entry.messages = (undone_textfile $msg)
          }
          $exts += $entry
        }
        [ordered]@{ browser = $c[0]; user = $h.Name; profile = $d.Name; extensions = $exts
          prefs = @((undone_textfile (Join-Path $d.FullName 'Secure Preferences')),
            (undone_textfile $prefs)) }
      }
    }
    $ff = Join-Path $h.FullName 'AppData\Roaming\Mozilla\Firefox\Profiles'
    foreach ($d in @(Get-ChildItem -LiteralPath $ff -Directory -Force -ErrorAction SilentlyContinue)) {
      $x = Join-Path $d.FullName 'extensions.json'
      if (-not (Test-Path -LiteralPath $x)) { continue }
      $n += 1
      if ($n -gt 60) { [ordered]@{ truncated = 'profiles' }; return }
      [ordered]@{ browser = 'firefox'; user = $h.Name; profile = $d.Name
        extensions_json = (undone_textfile $x) }
    }
  }
}
undone_emit $r
