# undone section windows.hardening: AutoRun, SMBv1, Remote Desktop and BitLocker.
# Reads: the AutoRun policy (NoDriveTypeAutoRun, NoAutorun under
# HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer; NoAutoplayfornonVolume);
# SMB 1.0: the server setting (Get-SmbServerConfiguration EnableSMB1Protocol), the optional
# feature's state (Win32_OptionalFeature SMB1Protocol) and the SMB 1.0 client driver's start type
# (mrxsmb10); Remote Desktop: fDenyTSConnections and, on the RDP-Tcp listener, UserAuthentication
# (Network Level Authentication), SecurityLayer and PortNumber, with the Group Policy values that
# override them; BitLocker: Get-BitLockerVolume, else Win32_EncryptableVolume.
# Privilege: an administrator for the SMB server settings and BitLocker; any user for the rest.
# Writes nothing (Win32_OptionalFeature is read through WMI, not DISM, which would write a log).
$r = [ordered]@{}
$r.autorun = undone_regvalues 'SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer' @('NoDriveTypeAutoRun', 'NoAutorun')
$r.autoplay = undone_regvalues 'SOFTWARE\Policies\Microsoft\Windows\Explorer' @('NoAutoplayfornonVolume')
$r.smb_server = undone_try {
  $c = Get-SmbServerConfiguration
  [ordered]@{ smb1 = $c.EnableSMB1Protocol; smb2 = $c.EnableSMB2Protocol; signing = $c.RequireSecuritySignature }
}
$r.smb1_feature = undone_try {
  $f = Get-CimInstance -ClassName Win32_OptionalFeature -Filter "Name='SMB1Protocol'"
  if ($null -eq $f) { $null } else { [int]$f.InstallState }
}
$r.smb1_client = undone_regvalues 'SYSTEM\CurrentControlSet\Services\mrxsmb10' @('Start')
$r.rdp = undone_regvalues 'SYSTEM\CurrentControlSet\Control\Terminal Server' @('fDenyTSConnections')
$r.rdp_tcp = undone_regvalues 'SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp' @('UserAuthentication', 'SecurityLayer', 'PortNumber')
$r.rdp_policy = undone_regvalues 'SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services' @('fDenyTSConnections', 'UserAuthentication', 'SecurityLayer')
$r.bitlocker = undone_list {
  Get-BitLockerVolume | ForEach-Object {
    [ordered]@{
      mount = [string]$_.MountPoint
      type = [string]$_.VolumeType
      protection = [string]$_.ProtectionStatus
      status = [string]$_.VolumeStatus
      percent = [double]$_.EncryptionPercentage
      method = [string]$_.EncryptionMethod
    }
  }
}
$r.bitlocker_cim = $null
if ($r.bitlocker.Contains('error')) {
  $r.bitlocker_cim = undone_list {
    $ns = 'root/cimv2/Security/MicrosoftVolumeEncryption'
    Get-CimInstance -Namespace $ns -ClassName Win32_EncryptableVolume | ForEach-Object {
      [ordered]@{
        mount = [string]$_.DriveLetter
        type = $_.VolumeType
        protection = [int]$_.ProtectionStatus
        conversion = [int]$_.ConversionStatus
      }
    }
  }
}
$r.system_drive = [string]$env:SystemDrive
$r.product_type = undone_try { [int](Get-CimInstance -ClassName Win32_OperatingSystem).ProductType }
undone_emit $r
