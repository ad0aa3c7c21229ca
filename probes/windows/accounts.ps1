# undone section windows.accounts: local accounts, administrators, password and lockout policy, UAC.
# Reads: the members of the local Administrators group (by its well-known SID S-1-5-32-544, so
# its name in the machine's language does not matter) with Get-LocalGroupMember, or through ADSI
# where that cmdlet fails (it does on a group holding a SID that no longer resolves); the local
# users (Get-LocalUser, else Win32_UserAccount): enabled, last logon, password required, password
# last set; the password and lockout policy from `net accounts` (its lines come in a fixed order
# whatever the language, so they are read by position); the password filters registered with
# LSA (Notification Packages); the Entra Password Protection DC agent service; and the UAC
# settings (HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System).
# Privilege: any user for the groups, users and policy; an administrator for LastLogon of other
# accounts on some versions. Writes nothing.
$r = [ordered]@{}
$admins_sid = 'S-1-5-32-544'
$r.admin_group = undone_try {
  $sid = New-Object Security.Principal.SecurityIdentifier($admins_sid)
  $sid.Translate([Security.Principal.NTAccount]).Value
}
$r.admins = undone_list {
  Get-LocalGroupMember -SID $admins_sid | ForEach-Object {
    [ordered]@{
      name = [string]$_.Name
      sid = [string]$_.SID
      class = [string]$_.ObjectClass
      source = [string]$_.PrincipalSource
    }
  }
}
$r.admins_adsi = $null
if ($r.admins.Contains('error')) {
  $r.admins_adsi = undone_list {
    $group = ([string]$r.admin_group.value).Split('\')[-1]
    if (-not $group) { $group = 'Administrators' }
    $adsi = [ADSI]('WinNT://./' + $group + ',group')
    foreach ($m in @($adsi.psbase.Invoke('Members'))) {
      $t = $m.GetType()
      $path = [string]$t.InvokeMember('ADsPath', 'GetProperty', $null, $m, $null)
      $class = [string]$t.InvokeMember('Class', 'GetProperty', $null, $m, $null)
      $bytes = $t.InvokeMember('objectSid', 'GetProperty', $null, $m, $null)
      $sid = (New-Object Security.Principal.SecurityIdentifier($bytes, 0)).Value
      [ordered]@{ name = $path; sid = $sid; class = $class; source = $null }
    }
  }
}
$r.users = undone_list {
  Get-LocalUser | ForEach-Object {
    [ordered]@{
      name = [string]$_.Name
      sid = [string]$_.SID
      enabled = [bool]$_.Enabled
      last_logon = (undone_date $_.LastLogon)
      password_required = [bool]$_.PasswordRequired
      password_last_set = (undone_date $_.PasswordLastSet)
      account_expires = (undone_date $_.AccountExpires)
      source = [string]$_.PrincipalSource
    }
  }
}
$r.users_wmi = $null
if ($r.users.Contains('error')) {
  $r.users_wmi = undone_list {
    Get-CimInstance -ClassName Win32_UserAccount -Filter 'LocalAccount=True' | ForEach-Object {
      [ordered]@{
        name = [string]$_.Name
        sid = [string]$_.SID
        enabled = -not [bool]$_.Disabled
        last_logon = $null
        password_required = [bool]$_.PasswordRequired
        password_last_set = $null
        source = 'Local'
      }
    }
  }
}
$r.net_accounts = undone_native 'net.exe' @('accounts')
$r.lsa = undone_regvalues 'SYSTEM\CurrentControlSet\Control\Lsa' @('Notification Packages')
$r.entra_dc_agent = undone_try {
  $null -ne (Get-CimInstance -ClassName Win32_Service -Filter "Name='AzureADPasswordProtectionDCAgent'")
}
$r.uac = undone_regvalues 'SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System' @('EnableLUA', 'ConsentPromptBehaviorAdmin', 'ConsentPromptBehaviorUser', 'PromptOnSecureDesktop', 'FilterAdministratorToken', 'LocalAccountTokenFilterPolicy')
$r.product_type = undone_try { [int](Get-CimInstance -ClassName Win32_OperatingSystem).ProductType }
undone_emit $r
