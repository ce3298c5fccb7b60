// Exfiltration sinks and download tools named in code or scripts.

rule exfil_chat_webhook {
  meta: cap = "exfil-sink" detail = "sends to a chat webhook or bot API (Discord, Telegram, Slack)"
  strings:
    $a = /discord(app)?\.com\/api\/webhooks/
    $b = /api\.telegram\.org\/bot/
    $c = "hooks.slack.com/services"
    $d = "discord.com/api/v9/users/@me"
  condition: any of them
}

rule exfil_paste_or_catcher {
  meta: cap = "exfil-sink" detail = "sends to a paste site, file drop or request catcher"
  strings:
    $a = /pastebin\.com\/(raw|api)/
    $b = "transfer.sh"
    $c = "webhook.site"
    $d = /[a-z0-9]+\.[a-z]\.pipedream\.net/
    $e = "requestbin"
    $f = /\.(oast\.(pro|live|site|online|fun|me)|interact\.sh|burpcollaborator\.net|oastify\.com|dnslog\.cn|ceye\.io|canarytokens\.com)/
    $g = /ngrok(-free)?\.(io|app)/
    $h = /(anonfiles\.com|gofile\.io\/uploadFile|file\.io\/|0x0\.st|paste\.ee\/|hastebin\.com|termbin\.com)/
    $i = "api.ipify.org"
    $j = "ipinfo.io/json"
    // IP loggers: a request there records the caller's address, which is the whole point
    // cloud drops with a token baked into the code: whoever holds it reads what was sent
    $l = /dropbox\.Dropbox\(\s*['"](sl\.|[A-Za-z0-9_-]{60})/
    $m = /['"]sl\.[A-Za-z0-9_-]{120,}['"]/
    $k = /(iplogger\.(org|com|ru|co|info)|grabify\.link|2no\.co\/|yip\.su\/|blasze\.(com|tk))/
  condition: any of them
}

rule raw_ip_url {
  meta: cap = "raw-ip-url" detail = "URL with a literal IP address"
  strings:
    $a = /(https?|ftp|tcp|wss?):\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/
  condition: $a
}

rule download_tool_command {
  meta: cap = "download-tool" detail = "command line that downloads with curl, wget, PowerShell, certutil or bitsadmin"
  strings:
    $curl = /\b(curl|wget)\s+(-[A-Za-z]+\s+)*['"]?https?:\/\// nocase
    // short options with values before the address: `wget -O ~/.x/y.py https://...`, `curl -o f -L https://...`
    // (long options such as `curl --location URL` are how CLIs print usage examples: not counted)
    $curlopt = /\b(curl|wget)\s+(-[A-Za-z]{1,2}(\s+[^\s'"|;&-][^\s'"|;&]*)?\s+){1,6}['"]?https?:\/\// nocase
    $iwr = /(Invoke-WebRequest|iwr|Invoke-RestMethod|DownloadString|DownloadFile|Start-BitsTransfer)\b/ nocase
    $cert = /certutil(\.exe)?\s+-urlcache/ nocase
    $bits = /bitsadmin(\.exe)?\s+\/transfer/ nocase
    $pipe = /(curl|wget)[^\n]{1,200}\|\s*(ba|z)?sh\b/
    $tmprun = /chmod\s+(\+x|[0-7]{3,4})\s+\/(tmp|var\/tmp|dev\/shm)\/[^\s;&|]+\s*(;|&&|\n)\s*\.?\/(tmp|var\/tmp|dev\/shm)\//
    $send = /\bcurl\b[^\n]{0,100}\s(-F|-d|-T|--data(-binary)?|--upload-file|--form)\s/
  condition: any of them
}

rule hidden_powershell {
  meta: cap = "hidden-shell" detail = "starts PowerShell hidden or with an encoded command"
  strings:
    $a = /-(w|windowstyle)\s+hidden/ nocase
    $b = /powershell(\.exe)?[^\n]{0,80}\s-(e|ec|enc|encodedcommand)\s+[A-Za-z0-9+\/=]{20}/ nocase
    $c = /Add-MpPreference\s+-ExclusionPath/ nocase
    $d = "-ExecutionPolicy Bypass" nocase
  condition: any of them
}

rule executable_download_target {
  meta: cap = "exe-url" detail = "names a Windows executable to fetch or save (URL or path ending .exe/.scr/.msi/.bat/.vbs/.ps1)"
  strings:
    $url = /https?:\/\/[^\s'"]{4,300}\.(exe|scr|msi|bat|vbs|ps1|jar)(\?[^\s'"]{0,200})?['"]/ nocase
    $save = /open\([^\n]{0,120}\.(exe|scr|jar)['"][^\n]{0,40}['"]wb['"]/ nocase
  condition: any of them
}

rule chat_channel_credential {
  meta: cap = "chat-credential" detail = "carries the credential of a chat channel (Telegram bot token, Discord webhook secret)"
  strings:
    // 8 to 10 digits written as 7-9 and one more: the same tokens, but yara-x then searches for
    // the `:AA` literal instead of a quote and a digit (every quoted number), which made this one
    // pattern a tenth of the whole pattern pass
    $telegram = /['"][0-9]{7,9}[0-9]:AA[A-Za-z0-9_-]{32,34}['"]/
    $discord = /discord(app)?\.com\/api\/webhooks\/[0-9]{17,20}\/[A-Za-z0-9_-]{60,68}/
  condition: any of them
}

rule base64_encoded_url {
  meta: cap = "encoded-url" detail = "holds a web address encoded in base64"
  strings:
    // base64 of "http://" and "https://" at the start of a string literal
    $a = /['"](aHR0cDovL|aHR0cHM6Ly)[A-Za-z0-9+\/]{8,}={0,2}['"]/
  condition: $a
}

rule upload_to_bare_ip {
  meta: cap = "raw-upload" detail = "uploads local files to a bare IP address (curl -F/-T/--data-binary @file)"
  strings:
    $a = /curl[^\n]{0,120}\s(-F|-T|--form|--upload-file|--data-binary)\s*\\?['"]?[\w-]*=?@[^\n]{0,200}(https?:\/\/)?[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/
  condition: $a
}
