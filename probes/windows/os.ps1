# undone section windows.os: what system this is.
# Reads: Win32_OperatingSystem (caption, version, build, product type, install date, last boot),
# Win32_ComputerSystem (name, domain), HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion
# (EditionID, DisplayVersion or ReleaseId, CurrentBuild, UBR, InstallationType, ProductName), the
# scanning account and whether it holds administrator rights, the clock, and licensed extended
# security update add-ons (SoftwareLicensingProduct whose name mentions ESU and that has a key).
# Privilege: any user may read all of it. Writes nothing.
$r = [ordered]@{}
$r.os = undone_try {
  $o = Get-CimInstance -ClassName Win32_OperatingSystem
  [ordered]@{
    caption = [string]$o.Caption
    version = [string]$o.Version
    build_number = [string]$o.BuildNumber
    product_type = [int]$o.ProductType
    os_architecture = [string]$o.OSArchitecture
    install_date = (undone_date $o.InstallDate)
    last_boot = (undone_date $o.LastBootUpTime)
    csname = [string]$o.CSName
  }
}
$cv = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$names = @('ProductName', 'EditionID', 'DisplayVersion', 'ReleaseId', 'CurrentBuild',
  'CurrentBuildNumber', 'UBR', 'InstallationType', 'CompositionEditionID')
$r.current_version = undone_regvalues $cv $names
$r.computer = undone_try {
  $c = Get-CimInstance -ClassName Win32_ComputerSystem
  [ordered]@{
    name = [string]$c.Name
    domain = [string]$c.Domain
    part_of_domain = [bool]$c.PartOfDomain
    domain_role = [int]$c.DomainRole
  }
}
$r.identity = undone_try {
  $id = [Security.Principal.WindowsIdentity]::GetCurrent()
  $principal = New-Object Security.Principal.WindowsPrincipal($id)
  $admin = [Security.Principal.WindowsBuiltInRole]::Administrator
  [ordered]@{ user = [string]$id.Name; administrator = [bool]$principal.IsInRole($admin) }
}
$r.processor_architecture = [string]$env:PROCESSOR_ARCHITECTURE
$r.powershell_version = [string]$PSVersionTable.PSVersion
$r.esu = undone_list {
  $filter = "Name LIKE '%ESU%' AND PartialProductKey IS NOT NULL"
  Get-CimInstance -ClassName SoftwareLicensingProduct -Filter $filter | ForEach-Object {
    [ordered]@{ name = [string]$_.Name; license_status = [int]$_.LicenseStatus; id = [string]$_.ID }
  }
}
$r.time_utc = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', $undone_inv)
undone_emit $r
