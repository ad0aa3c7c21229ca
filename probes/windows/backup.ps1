# undone section windows.backup: Windows Server Backup and Veeam, where installed.
# Reads: Get-WBSummary (Windows Server Backup: last successful backup, last attempt and its
# result code, number of versions) when the WindowsServerBackup module is present, and whether a
# backup policy is set (Get-WBPolicy); Veeam Backup & Replication through its PowerShell module
# (Veeam.Backup.PowerShell) when present: each job's last session (Get-VBRJob, FindLastSession)
# and its newest successful session (Get-VBRBackupSession); whether Veeam Agent for Microsoft
# Windows is installed (its registry key; its job results are not read).
# Privilege: an administrator or a member of Backup Operators for Get-WBSummary; a Veeam
# administrator for the Veeam cmdlets. Writes nothing; starts no job.
$r = [ordered]@{}
$r.wsb = undone_try {
  if (-not (Get-Command -Name 'Get-WBSummary' -ErrorAction SilentlyContinue)) { $null } else {
    $s = Get-WBSummary
    [ordered]@{
      last_success = (undone_date $s.LastSuccessfulBackupTime)
      last_backup = (undone_date $s.LastBackupTime)
      last_result_hr = [int64]$s.LastBackupResultHR
      versions = [int]$s.NumberOfVersions
      next_backup = (undone_date $s.NextBackupTime)
      target = [string]$s.LastBackupTarget
      policy = ($null -ne (Get-WBPolicy))
    }
  }
}
$r.veeam = undone_try {
  $mod = Get-Module -ListAvailable -Name 'Veeam.Backup.PowerShell' | Select-Object -First 1
  if ($null -eq $mod) { $null } else {
    Import-Module -Name 'Veeam.Backup.PowerShell' -DisableNameChecking
    $jobs = New-Object System.Collections.ArrayList
    $sessions = @(Get-VBRBackupSession)
    foreach ($j in @(Get-VBRJob -WarningAction SilentlyContinue)) {
      $last = $j.FindLastSession()
      $good = $sessions | Where-Object {
        $_.JobId -eq $j.Id -and ([string]$_.Result -eq 'Success' -or [string]$_.Result -eq 'Warning')
      } | Sort-Object -Property EndTime -Descending | Select-Object -First 1
      $null = $jobs.Add([ordered]@{
        name = [string]$j.Name
        type = [string]$j.JobType
        enabled = [bool]$j.IsScheduleEnabled
        last_result = $(if ($last) { [string]$last.Result } else { $null })
        last_end = $(if ($last) { undone_date $last.EndTime } else { $null })
        last_success = $(if ($good) { undone_date $good.EndTime } else { $null })
      })
    }
    [ordered]@{ version = [string]$mod.Version; jobs = $jobs.ToArray() }
  }
}
$r.veeam_agent = undone_try { undone_regkey 'SOFTWARE\Veeam\Veeam Endpoint Backup' }
$r.product_type = undone_try { [int](Get-CimInstance -ClassName Win32_OperatingSystem).ProductType }
undone_emit $r
