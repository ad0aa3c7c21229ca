# undone section windows.updates: pending updates with their release dates, restart, automatic updates.
# Reads: the Windows Update Agent (Microsoft.Update.Session): a search for software updates not
# installed and not hidden, each with its MsrcSeverity, categories (names and ids), KB numbers, CVEs and
# LastDeploymentChangeTime (when it was published, in UTC); the agent's last successful search
# and its automatic-update setting (Microsoft.Update.AutoUpdate); whether a restart is pending
# (Microsoft.Update.SystemInfo RebootRequired, the WindowsUpdate\Auto Update\RebootRequired and
# Component Based Servicing\RebootPending keys, PendingFileRenameOperations); the update policy
# (HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate and its AU key), a pause set in the
# Settings app (WindowsUpdate\UX\Settings) and the wuauserv service.
# The search runs in a runspace of its own for at most the section's limit less 15 seconds; one
# that does not finish in time is reported as timed out and the rest is still collected.
# Privilege: any user may search and read these keys. Writes nothing: a search neither
# downloads nor installs.
$r = [ordered]@{}
$wua_limit = [Math]::Max(5, $undone_limit - 15)
$r.search_limit = $wua_limit
$search = [PowerShell]::Create()
$null = $search.AddScript({
  $session = New-Object -ComObject 'Microsoft.Update.Session'
  $session.ClientApplicationID = 'undone (read-only scan)'
  $searcher = $session.CreateUpdateSearcher()
  $found = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
  $list = New-Object System.Collections.ArrayList
  foreach ($u in $found.Updates) {
    $cats = @(foreach ($c in $u.Categories) { [string]$c.Name })
    $catids = @(foreach ($c in $u.Categories) { [string]$c.CategoryID })
    $kbs = @(foreach ($k in $u.KBArticleIDs) { 'KB' + [string]$k })
    $cves = @(foreach ($c in $u.CveIDs) { [string]$c })
    $null = $list.Add([ordered]@{
      title = [string]$u.Title
      kb = $kbs
      msrc_severity = $u.MsrcSeverity
      categories = $cats
      category_ids = $catids
      cves = $cves
      released = $u.LastDeploymentChangeTime
      downloaded = [bool]$u.IsDownloaded
      update_id = [string]$u.Identity.UpdateID
      revision = [int]$u.Identity.RevisionNumber
    })
  }
  [ordered]@{
    result_code = [int]$found.ResultCode
    server_selection = [int]$searcher.ServerSelection
    updates = $list.ToArray()
  }
})
$handle = $search.BeginInvoke()
if ($handle.AsyncWaitHandle.WaitOne($wua_limit * 1000)) {
  try {
    $out = $search.EndInvoke($handle)
    $res = $out[$out.Count - 1]
    $pending = @(foreach ($u in $res.updates) {
      [ordered]@{
        title = $u.title
        kb = @($u.kb)
        msrc_severity = $u.msrc_severity
        categories = @($u.categories)
        category_ids = @($u.category_ids)
        cves = @($u.cves)
        released = (undone_utcdate $u.released)
        downloaded = $u.downloaded
        update_id = $u.update_id
        revision = $u.revision
      }
    })
    $r.search = [ordered]@{ value = [ordered]@{
      result_code = $res.result_code
      server_selection = $res.server_selection
      updates = $pending
    } }
  } catch {
    $r.search = undone_error $_
  }
  $search.Dispose()
} else {
  # a blocked COM call cannot be interrupted: leave the runspace behind
  $null = $search.BeginStop($null, $null)
  $r.search = [ordered]@{
    error = ('the Windows Update search did not finish within ' + $wua_limit + ' s')
    error_type = 'timeout'
  }
}
$r.reboot = [ordered]@{
  system_info = (undone_try { [bool](New-Object -ComObject 'Microsoft.Update.SystemInfo').RebootRequired })
  wu_key = (undone_try { undone_regkey 'SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired' })
  cbs_key = (undone_try { undone_regkey 'SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending' })
  file_renames = (undone_try {
    $v = undone_reg 'SYSTEM\CurrentControlSet\Control\Session Manager' 'PendingFileRenameOperations'
    ($null -ne $v) -and (@($v).Count -gt 0)
  })
}
$r.policy_au = undone_regvalues 'SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU' @('NoAutoUpdate', 'AUOptions', 'UseWUServer', 'ScheduledInstallDay', 'ScheduledInstallTime')
$r.policy_wu = undone_regvalues 'SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate' @('WUServer', 'DisableWindowsUpdateAccess', 'DeferQualityUpdates', 'DeferQualityUpdatesPeriodInDays', 'PauseQualityUpdatesStartTime')
$r.ux = undone_regvalues 'SOFTWARE\Microsoft\WindowsUpdate\UX\Settings' @('PauseUpdatesExpiryTime', 'PauseQualityUpdatesEndTime')
$r.agent = undone_try {
  $au = New-Object -ComObject 'Microsoft.Update.AutoUpdate'
  [ordered]@{
    service_enabled = [bool]$au.ServiceEnabled
    notification_level = [int]$au.Settings.NotificationLevel
    last_search_success = (undone_utcdate $au.Results.LastSearchSuccessDate)
    last_install_success = (undone_utcdate $au.Results.LastInstallationSuccessDate)
  }
}
$r.service = undone_try {
  $s = Get-CimInstance -ClassName Win32_Service -Filter "Name='wuauserv'"
  [ordered]@{ start_mode = [string]$s.StartMode; state = [string]$s.State }
}
$r.product_type = undone_try { [int](Get-CimInstance -ClassName Win32_OperatingSystem).ProductType }
undone_emit $r
