# undone section windows.applications: the installed applications.
# Reads: the Uninstall registry keys (HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall,
# its WOW6432Node twin for 32-bit applications, and the same key in each user hive loaded under
# HKEY_USERS: the users signed in, whose per-user installs such as Zoom or a per-user Chrome
# live there); for each entry DisplayName, DisplayVersion, Publisher, InstallDate,
# InstallLocation, SystemComponent, ParentKeyName, WindowsInstaller. Microsoft 365 Apps /
# Office Click-to-Run: HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration (VersionToReport,
# CDNBaseUrl, UpdateChannel, UpdateUrl, UnmanagedUpdateUrl, ProductReleaseIds, Platform,
# UpdatesEnabled) and the UpdateBranch policy. The new Teams (an MSIX package): Get-AppxPackage
# MSTeams for all users. Profiles of users not signed in are not loaded (that would change the
# registry): their per-user installs are not seen, and the section says so.
# Privilege: any user for HKLM; HKEY_USERS and other users' packages need an administrator.
# Writes nothing.
$r = [ordered]@{}
$names = @('DisplayName', 'DisplayVersion', 'Publisher', 'InstallDate', 'InstallLocation',
  'SystemComponent', 'ParentKeyName', 'WindowsInstaller', 'ReleaseType')
function undone_uninstall([Microsoft.Win32.RegistryKey]$hive, [string]$path) {
  $k = $hive.OpenSubKey($path)
  if ($null -eq $k) { return @() }
  try {
    $out = @()
    foreach ($sub in $k.GetSubKeyNames()) {
      $e = $k.OpenSubKey($sub)
      if ($null -eq $e) { continue }
      try {
        $row = [ordered]@{ key = [string]$sub }
        foreach ($n in $names) {
          $v = $e.GetValue($n, $null)
          if ($null -ne $v) { $row[$n] = $v }
        }
        if ($row.Contains('DisplayName')) { $out += $row }
      } finally { $e.Close() }
      if ($out.Count -ge 2000) { break }
    }
    return $out
  } finally { $k.Close() }
}
$u = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'
$w = 'SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
$r.machine = undone_list { undone_uninstall ([Microsoft.Win32.Registry]::LocalMachine) $u }
$r.machine_wow = undone_list { undone_uninstall ([Microsoft.Win32.Registry]::LocalMachine) $w }
$r.users = undone_list {
  $hku = [Microsoft.Win32.Registry]::Users
  foreach ($sid in $hku.GetSubKeyNames()) {
    if ($sid -notmatch '^S-1-5-21-[\d-]+$') { continue }  # user accounts, not *_Classes
    $hive = $hku.OpenSubKey($sid)
    if ($null -eq $hive) { continue }
    try {
      $name = $null
      try { $name = (New-Object Security.Principal.SecurityIdentifier($sid)).Translate(
          [Security.Principal.NTAccount]).Value } catch { $name = $null }
      [ordered]@{ sid = $sid; user = $name; apps = @(undone_uninstall $hive $u) }
    } finally { $hive.Close() }
  }
}
$r.profiles = undone_try {
  @(Get-CimInstance -ClassName Win32_UserProfile -Filter 'Special = FALSE' | ForEach-Object {
      [ordered]@{ sid = [string]$_.SID; loaded = [bool]$_.Loaded }
    })
}
$c2r = 'SOFTWARE\Microsoft\Office\ClickToRun\Configuration'
$r.click_to_run = undone_regvalues $c2r @('VersionToReport', 'ClientVersionToReport', 'CDNBaseUrl',
  'UpdateChannel', 'UpdateUrl', 'UnmanagedUpdateUrl', 'ProductReleaseIds', 'Platform',
  'UpdatesEnabled', 'UpdateChannelChanged')
$r.office_policy = undone_regvalues 'SOFTWARE\Policies\Microsoft\office\16.0\common\officeupdate' @(
  'UpdateBranch', 'EnableAutomaticUpdates', 'UpdateTargetVersion', 'UpdatePath')
$r.appx = undone_list {
  Get-AppxPackage -AllUsers -Name 'MSTeams' | ForEach-Object {
    [ordered]@{ name = [string]$_.Name; version = [string]$_.Version
      publisher = [string]$_.Publisher; location = [string]$_.InstallLocation }
  }
}
undone_emit $r
