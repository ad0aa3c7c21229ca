# undone section windows.defender: anti-malware protection.
# Reads: Get-MpComputerStatus (Microsoft Defender Antivirus: whether it runs and in which mode,
# real-time protection, signature versions and when they were updated, tamper protection, last
# scans), the WinDefend service, the Defender for Endpoint onboarding state (registry), and on
# client editions the anti-virus products registered with Windows Security Center
# (root\SecurityCenter2 AntiVirusProduct: name and productState), how signatures are updated
# (Get-MpPreference's signature schedule, the Windows Update policy and service). Windows Server has no
# Security Center: there the services of common endpoint protection products are looked for.
# Privilege: any user for Security Center; Get-MpComputerStatus needs an administrator on some
# versions. Writes nothing; starts no scan and no update.
$r = [ordered]@{}
$r.mp = undone_try {
  $s = Get-MpComputerStatus
  [ordered]@{
    am_service_enabled = $s.AMServiceEnabled
    antivirus_enabled = $s.AntivirusEnabled
    antispyware_enabled = $s.AntispywareEnabled
    realtime_enabled = $s.RealTimeProtectionEnabled
    on_access_enabled = $s.OnAccessProtectionEnabled
    behavior_monitor_enabled = $s.BehaviorMonitorEnabled
    ioav_enabled = $s.IoavProtectionEnabled
    running_mode = $s.AMRunningMode
    product_version = $s.AMProductVersion
    engine_version = $s.AMEngineVersion
    signature_version = $s.AntivirusSignatureVersion
    signature_updated = (undone_date $s.AntivirusSignatureLastUpdated)
    signature_age = $s.AntivirusSignatureAge
    signatures_out_of_date = $s.DefenderSignaturesOutOfDate
    tamper_protected = $s.IsTamperProtected
    quick_scan_end = (undone_date $s.QuickScanEndTime)
    full_scan_end = (undone_date $s.FullScanEndTime)
  }
}
# how signatures are kept up to date: Defender's own schedule and interval (Get-MpPreference),
# and Windows Update, which delivers them too unless its automatic updates are off by policy or
# its service is disabled
$r.preferences = undone_try {
  $p = Get-MpPreference
  [ordered]@{
    schedule_day = $p.SignatureScheduleDay
    update_interval = $p.SignatureUpdateInterval
    fallback_order = [string]$p.SignatureFallbackOrder
  }
}
$r.au_policy = undone_regvalues 'SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU' @('NoAutoUpdate', 'AUOptions')
$r.wu_service = undone_try {
  $wu = Get-CimInstance -ClassName Win32_Service -Filter "Name='wuauserv'"
  if ($null -eq $wu) { $null } else { [string]$wu.StartMode }
}
$r.service = undone_try {
  $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name='WinDefend'"
  if ($null -eq $svc) { $null } else {
    [ordered]@{ state = [string]$svc.State; start_mode = [string]$svc.StartMode }
  }
}
$r.onboarding = undone_try {
  undone_reg 'SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status' 'OnboardingState'
}
$r.product_type = undone_try { [int](Get-CimInstance -ClassName Win32_OperatingSystem).ProductType }
# services of other endpoint protection products, for servers (which have no Security Center)
$names = @('CSFalconService', 'SentinelAgent', 'SAVService', 'SophosED', 'ekrn', 'ds_agent',
  'SepMasterService', 'mfemms', 'EPSecurityService', 'CbDefense', 'CylanceSvc', 'WRSVC')
$r.av_services = undone_list {
  $filter = ($names | ForEach-Object { "Name='" + $_ + "'" }) -join ' OR '
  Get-CimInstance -ClassName Win32_Service -Filter $filter | ForEach-Object {
    [ordered]@{ name = [string]$_.Name; display = [string]$_.DisplayName; state = [string]$_.State }
  }
}
$r.security_center = $null
if ($r.product_type.Contains('value') -and $r.product_type.value -eq 1) {
  $r.security_center = undone_list {
    Get-CimInstance -Namespace 'root/SecurityCenter2' -ClassName AntiVirusProduct | ForEach-Object {
      [ordered]@{
        name = [string]$_.displayName
        state = [int64]$_.productState
        timestamp = [string]$_.timestamp
        exe = [string]$_.pathToSignedProductExe
      }
    }
  }
}
undone_emit $r
