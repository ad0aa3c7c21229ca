# undone section windows.patch_history: when updates were installed, and how often.
# Reads: the Windows Update Agent's history (Microsoft.Update.Session, QueryHistory: the newest
# 500 entries with their date in UTC, title, operation and result) and the hot fixes Windows
# lists (Win32_QuickFixEngineering: HotFixID and InstalledOn, a text date written in the format
# of the machine's locale, or as a hexadecimal FILETIME on some older systems), with the current
# culture's short date pattern to read it.
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
    }
  }
}
$r.culture = undone_try {
  $c = Get-Culture
  [ordered]@{ name = [string]$c.Name; short_date = [string]$c.DateTimeFormat.ShortDatePattern }
}
undone_emit $r
