# undone section windows.firewall: whether the host firewall is on, and what it does by default.
# Reads: Get-NetFirewallProfile -PolicyStore ActiveStore (the profiles in force: local settings
# merged with Group Policy): Domain, Private and Public, each enabled or not, its default inbound
# and outbound action; the Windows Defender Firewall service (mpssvc); the network profile of each
# connected network (Get-NetConnectionProfile); and on client editions the firewalls registered
# with Windows Security Center (root\SecurityCenter2 FirewallProduct).
# Privilege: any user. Writes nothing.
$r = [ordered]@{}
$r.profiles = undone_list {
  Get-NetFirewallProfile -PolicyStore ActiveStore | ForEach-Object {
    [ordered]@{
      name = [string]$_.Name
      enabled = [string]$_.Enabled
      default_inbound = [string]$_.DefaultInboundAction
      default_outbound = [string]$_.DefaultOutboundAction
      allow_local_rules = [string]$_.AllowLocalFirewallRules
    }
  }
}
$r.service = undone_try {
  $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name='mpssvc'"
  if ($null -eq $svc) { $null } else {
    [ordered]@{ state = [string]$svc.State; start_mode = [string]$svc.StartMode }
  }
}
$r.networks = undone_list {
  Get-NetConnectionProfile | ForEach-Object {
    [ordered]@{ name = [string]$_.Name; category = [string]$_.NetworkCategory }
  }
}
$r.product_type = undone_try { [int](Get-CimInstance -ClassName Win32_OperatingSystem).ProductType }
$r.security_center = $null
if ($r.product_type.Contains('value') -and $r.product_type.value -eq 1) {
  $r.security_center = undone_list {
    Get-CimInstance -Namespace 'root/SecurityCenter2' -ClassName FirewallProduct | ForEach-Object {
      [ordered]@{ name = [string]$_.displayName; state = [int64]$_.productState }
    }
  }
}
undone_emit $r
