# undone prelude (PowerShell): helpers every Windows section may use, run before the section in
# its own runspace. Read-only: the helpers read the registry, CIM and cmdlet output and write
# nothing but the section's result. A section builds one ordered table and ends with
# `undone_emit $r`, which writes it as JSON (the batch puts it between the section's markers).
# Values the parser must be able to tell apart are kept apart: a value, $null (absent), or an
# error record @{error = '...'; error_type = '...'} from undone_try / undone_list.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$undone_inv = [Globalization.CultureInfo]::InvariantCulture

function undone_why($err) {
  # one line naming an error: exception type and message
  $e = $err
  if ($e -is [Management.Automation.ErrorRecord]) { $e = $e.Exception }
  while ($e.InnerException -ne $null) { $e = $e.InnerException }
  $text = ([string]$e.Message) -replace "[`r`n]+", ' '
  if ($text.Length -gt 300) { $text = $text.Substring(0, 300) }
  return $text
}

function undone_error($err) {
  $e = $err
  if ($e -is [Management.Automation.ErrorRecord]) { $e = $e.Exception }
  while ($e.InnerException -ne $null) { $e = $e.InnerException }
  return [ordered]@{ error = (undone_why $err); error_type = $e.GetType().FullName }
}

function undone_try([scriptblock]$read) {
  # the value a read gives, or an error record; $null stays $null
  try { return [ordered]@{ value = (& $read) } } catch { return (undone_error $_) }
}

function undone_list([scriptblock]$read) {
  # like undone_try, the value always a list (none, one or many items)
  try { return [ordered]@{ value = @(& $read) } } catch { return (undone_error $_) }
}

function undone_date($value) {
  # a DateTime as ISO 8601 UTC text; local and unspecified times are converted from the
  # machine's time zone. Before 1971 (DateTime.MinValue, FILETIME 0) means "never": $null.
  if ($null -eq $value) { return $null }
  if ($value -isnot [datetime]) { return [string]$value }
  if ($value.Year -lt 1971) { return $null }
  return $value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', $undone_inv)
}

function undone_utcdate($value) {
  # a DateTime the source gives in UTC already (the Windows Update Agent's dates)
  if ($null -eq $value) { return $null }
  if ($value -isnot [datetime]) { return [string]$value }
  if ($value.Year -lt 1971) { return $null }
  $utc = [DateTime]::SpecifyKind($value, [DateTimeKind]::Utc)
  return $utc.ToString('yyyy-MM-ddTHH:mm:ssZ', $undone_inv)
}

function undone_reg([string]$key, [string]$name) {
  # a value under HKEY_LOCAL_MACHINE, or $null when the key or the value is absent
  $k = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($key)
  if ($null -eq $k) { return $null }
  try { return $k.GetValue($name, $null) } finally { $k.Close() }
}

function undone_regkey([string]$key) {
  # whether a key exists under HKEY_LOCAL_MACHINE
  $k = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($key)
  if ($null -eq $k) { return $false }
  $k.Close()
  return $true
}

function undone_regvalues([string]$key, [string[]]$names) {
  # several values of one key as a table (absent ones $null), or an error record
  try {
    $out = [ordered]@{}
    foreach ($n in $names) { $out[$n] = undone_reg $key $n }
    return $out
  } catch { return (undone_error $_) }
}

function undone_native([string]$exe, [string[]]$argv) {
  # a Windows command's output lines and exit code (its text is in the machine's language);
  # Windows PowerShell 5.1 turns a native command's stderr into errors, so not 'Stop' here
  $ErrorActionPreference = 'Continue'
  try {
    $lines = @(& $exe @argv 2>&1 | ForEach-Object { [string]$_ })
    return [ordered]@{ value = $lines; exit_code = $LASTEXITCODE }
  } catch { return (undone_error $_) }
}

function undone_emit($result) {
  $result['collected_at'] = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', $undone_inv)
  return (ConvertTo-Json -InputObject $result -Depth 8 -Compress)
}
