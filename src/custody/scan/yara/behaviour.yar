// Persistence, remote shells, miners and stealer tooling.

rule persistence_locations {
  meta: cap = "persistence" detail = "writes to an auto-start location (systemd, cron, autostart, rc file, Run key, scheduled task)"
  strings:
    $systemd = "/etc/systemd/system/"
    $user_systemd = ".config/systemd/user"
    $cron1 = "/etc/cron"
    $cron2 = /crontab\s+-/
    $cron3 = "/var/spool/cron"
    $autostart = ".config/autostart"
    $rc = /['"\/]\.(bashrc|zshrc|bash_profile|profile)['"]/
    $run = /CurrentVersion\\{1,2}Run/ nocase
    $schtasks = /schtasks(\.exe)?\s+\/create/ nocase
    $startup = /Start Menu\\{1,2}Programs\\{1,2}Startup/ nocase
    $launch = "Library/LaunchAgents"
    $account = /net\s+(user\s+\S+\s+\S+\s+\/add|localgroup\s[^\n]{0,60}\/add)/ nocase
  condition: any of them
}

rule reverse_shell_command {
  meta: cap = "reverse-shell" detail = "reverse shell command line"
  strings:
    $devtcp = /\/dev\/(tcp|udp)\/[^\s'"]+\/[0-9]{2,5}/
    $bashi = /\b(ba)?sh\s+-i\s*[>&]/
    $nc = /\b(nc|ncat|netcat)\s+(-[a-z]+\s+)*-e\s+\/bin\/(ba)?sh/
    $pty = /pty\.spawn\(\s*['"]\/bin\/(ba)?sh/
    $mkfifo = /mkfifo\s+\/tmp\/[a-z]+;\s*(nc|cat)/
    $pyrev = /\.connect\(\(\s*[^)]{1,60}\)\)[^\n]{0,200}dup2\(\s*\w+\.fileno\(\)/
  condition: any of them
}

rule cryptominer {
  meta: cap = "miner" detail = "cryptocurrency miner binary, pool or option"
  strings:
    $a = "stratum+tcp://" nocase
    $b = "stratum+ssl://" nocase
    $c = /\bxmrig\b/ nocase
    $d = /(supportxmr|moneroocean|minexmr|nanopool|2miners|nicehash|hashvault)\.(com|org|stream|pro)/ nocase
    $e = "--donate-level"
    $f = "cryptonight" nocase
  condition: any of them
}

rule stealer_markers {
  meta: cap = "stealer-marker" detail = "strings stealers use to collect and label loot"
  strings:
    $a = /(passwords|cookies|tokens|wallets|history)\.txt['"]/ nocase
    $b = /\b(grabber|stealer|token[_ ]?logger)\b[^\n]{0,40}(discord|webhook|telegram)/ nocase
    $c = "ROBLOSECURITY"
    $d = /\bbrowser_(cookies|passwords)\b/
  condition: any of them
}

rule keylogger_screen_clipboard {
  meta: cap = "keylogger" detail = "captures keystrokes, the screen or the clipboard"
  strings:
    $a = "pynput.keyboard"
    $b = /keyboard\.on_press|\bon_press\s*=|GetAsyncKeyState|SetWindowsHookEx/
    $c = /ImageGrab\.grab\(|pyautogui\.screenshot\(|mss\(\)\.shot/
    $d = /pyperclip\.paste\(|GetClipboardData/
  condition: any of them
}

rule anti_analysis {
  meta: cap = "anti-analysis" detail = "checks for virtual machines, debuggers or sandboxes, or disables defences"
  strings:
    $a = /(vmtoolsd|vboxservice|vboxtray|VMwareService|wireshark|processhacker|x64dbg|ollydbg|httpdebugger)\.exe/ nocase
    $b = "IsDebuggerPresent"
    $c = "Set-MpPreference -DisableRealtimeMonitoring" nocase
    $d = /(BLACKLISTED|blacklisted)_(PROGRAMS|USERS|HWIDS|PCNAMES|IPS)/ nocase
  condition: any of them
}

rule obfuscator_runtime {
  meta: cap = "obfuscator" detail = "code protected by an obfuscator (PyArmor or similar)"
  strings:
    $a = "__pyarmor__"
    $b = /pyarmor_runtime_[0-9]{6}/
    $c = /from pytransform import pyarmor/
    $d = "pyobfuscate.com"
    $e = /Obfuscated (with|by) [A-Za-z]+/
    $g = "__OBFUSCATOR__"
  condition: any of them
}

rule obfuscator_markers {
  meta: cap = "obfuscator" trait = "obfuscator-marker" detail = "obfuscator banner or runtime marker"
  strings:
    $a = "__obfuscator__"
    $e = "BlankOBF"
    $f = /pyobfuscate\.com|Kramer-Specter|obfuscated with (Hyperion|Kramer|BlankOBF)/ nocase
    $b = /billythegoat356\/(Hyperion|Kramer)/
    $c = "Specter Obfuscator" nocase
  condition: any of them
}

rule sabotage_commands {
  meta: cap = "sabotage" detail = "destroys data or shuts the machine down"
  strings:
    $a = /shutdown(\.exe)?\s+[\/-](s|r|p)\b/ nocase
    $c = /rm\s+-[rf]{2}\s+(\/|~|\$HOME|\/\*)\s*['"]/
    $d = /(del|rd|rmdir)\s+\/[sfq]\s+[^\n]{0,20}[A-Z]:\\/ nocase
    $e = /format\s+[A-Z]:\s*\/[qy]/ nocase
  condition: any of them
}

rule xor_string_cipher {
  meta: cap = "xor-decrypt" detail = "decrypts text with a character-wise XOR key"
  strings:
    $a = /chr\(\s*ord\([^()\n]{1,60}\)\s*\^\s*ord\(/
    $b = /chr\(\s*\(?\s*ord\([^()\n]{1,60}\)\s*\^\s*[A-Za-z_][\w.\[\]%+ ]{0,40}\)/
    $c = /=\s*ord\(\s*\w+\s*\)\s*\^\s*\w+\s*\n/
  condition: any of them
}

rule text_from_character_codes {
  meta: cap = "char-codes" detail = "builds text from lists of character codes"
  strings:
    $comp = /chr\(\s*\w+\s*\)\s+for\s+\w+\s+in\s+[\[(]\s*\d{2,3}\s*,\s*\d{2,3}\s*,/
    $map = /map\(\s*chr\s*,\s*[\[(]\s*\d{2,3}\s*,\s*\d{2,3}\s*,/
  condition: any of them
}

