# undone section windows.patch_history: when updates were installed, and how often.
# Reads: the Windows Update Agent's history (Microsoft.Update.Session, QueryHistory: the newest
# 500 entries with their date in UTC, title, operation and result) and the hot fixes Windows
# lists (Win32_QuickFixEngineering: HotFixID and InstalledOn). InstalledOn is sent as WMI holds
# it (installed_on_raw: month/day/year text on Windows 7 and later, a hexadecimal FILETIME on
# some older systems) and as PowerShell's own InstalledOn renders it (installed_on: a DateTime
# PowerShell parses from that text, written by [string] in the invariant culture on every
# locale); the culture is sent for the record only.
# Privilege: any user. Writes nothing.
$r = [ordered]@{}
$r.history = undone_try {
  $session = New-Object -ComObject 'Microsoft.Update.Session'
  $searcher = $session.CreateUpdateSearcher()
  $total = [int]$searcher.GetTotalHistoryCount()
  $list = New-Object System.Collections.ArrayList
  if ($total -gt 0) {
    foreach ($e in $searcher.QueryHistory(0, [Math]::Min($total, 500))) {
      $null = $list.Add([ordered]@{
        date = (undone_utcdate $e.Date)
        title = [string]$e.Title
        operation = [int]$e.Operation
        result_code = [int]$e.ResultCode
        client = [string]$e.ClientApplicationID
      })
    }
  }
  [ordered]@{ total = $total; entries = $list.ToArray() }
}
$r.hotfixes = undone_list {
  Get-CimInstance -ClassName Win32_QuickFixEngineering | ForEach-Object {
    [ordered]@{
      id = [string]$_.HotFixID
      description = [string]$_.Description
      installed_on = [string]$_.InstalledOn
      installed_on_raw = [string]$_.CimInstanceProperties['InstalledOn'].Value
    }
  }
}
$r.culture = undone_try {
  $c = Get-Culture
  [ordered]@{ name = [string]$c.Name; short_date = [string]$c.DateTimeFormat.ShortDatePattern }
}
undone_emit $r
