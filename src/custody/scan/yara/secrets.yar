// Credential stores named in code. Each match is a fact ("cap" meta); rules in the engine
// decide what it means from where the code runs and what else it does.

rule secret_ssh_keys {
  meta: cap = "secret" detail = "names SSH private keys or the ~/.ssh directory"
  strings:
    $a = /\.ssh[\/\\'", ]{1,6}(id_rsa|id_dsa|id_ecdsa|id_ed25519|config|known_hosts)/ nocase
    $b = "id_rsa" fullword
    $c = "id_ed25519" fullword
  condition: any of them
}

rule secret_cloud_credentials {
  meta: cap = "secret" detail = "names cloud credential files (AWS, GCP, Azure, Docker)"
  strings:
    $aws = /\.aws[\/\\'", ]{1,6}credentials/ nocase
    $gcp1 = "application_default_credentials.json"
    $gcp2 = "gcloud/credentials.db"
    $gcp3 = "gcloud/access_tokens.db"
    $az = /\.azure[\/\\'", ]{1,6}(accessTokens\.json|msal_token_cache)/
    $docker = /\.docker[\/\\'", ]{1,6}config\.json/
  condition: any of them
}

rule secret_kubernetes {
  meta: cap = "secret" detail = "names Kubernetes credentials (kube config or service-account token)"
  strings:
    $a = /\.kube[\/\\'", ]{1,6}config/
    $b = "/var/run/secrets/kubernetes.io/serviceaccount"
  condition: any of them
}

rule secret_dotfiles {
  meta: cap = "secret" detail = "names credential dotfiles (.git-credentials, .netrc, .pypirc, .npmrc, shell history)"
  strings:
    $a = ".git-credentials"
    $b = /['"\/\\]\.netrc['"]/
    $c = /['"\/\\]\.pypirc['"]/
    $d = /['"\/\\]\.npmrc['"]/
    $e = ".bash_history"
    $f = ".zsh_history"
    $g = "/etc/shadow"
  condition: any of them
}

rule secret_browser_profiles {
  meta: cap = "secret" trait = "stealer-target" detail = "names browser credential stores (saved passwords, cookies, master key)"
  strings:
    $a = "Login Data" fullword
    $b = "Local State" fullword
    $c = "logins.json" fullword
    $d = "key4.db" fullword
    $e = "encrypted_key"
    $f = "CryptUnprotectData"
    $g = /User Data[\/\\]+Default[\/\\]+(Cookies|Network|Web Data|Login Data)/
    $h = "cookies.sqlite"
  condition: 2 of them or $g
}

rule secret_chat_tokens {
  meta: cap = "secret" trait = "stealer-target" detail = "hunts Discord or Telegram session tokens"
  strings:
    $leveldb = /[Dd]iscord[^\n]{0,80}Local Storage[\/\\]+leveldb/
    $tok1 = "[\\w-]{24}\\.[\\w-]{6}\\.[\\w-]{27}"
    $tok2 = "mfa\\.[\\w-]{84}"
    $tok3 = "dQw4w9WgXcQ:"
    $tdata = /Telegram Desktop[\/\\]+tdata/
  condition: any of them
}

rule secret_crypto_wallets {
  meta: cap = "secret" trait = "stealer-target" detail = "names cryptocurrency wallet stores"
  strings:
    $a = "wallet.dat" fullword
    $b = "nkbihfbeogaeaoehlefnkodbefgpgknn"
    $c = /Exodus[\/\\]+exodus\.wallet/ nocase
    $d = /Electrum[\/\\]+wallets/ nocase
    $e = /Atomic[\/\\]+Local Storage/
    $f = "Ethereum\\\\keystore"
    $g = "Ethereum/keystore"
  condition: any of them
}

rule cloud_metadata_endpoint {
  meta: cap = "cloud-metadata" detail = "contacts the cloud instance metadata endpoint"
  strings:
    $a = "169.254.169.254"
    $b = "metadata.google.internal"
    $c = "100.100.100.200"
  condition: any of them
}

rule secret_game_sessions {
  meta: cap = "secret" trait = "stealer-target" detail = "names game or launcher session stores (Minecraft, Lunar, Roblox, Steam)"
  strings:
    $mc1 = "launcher_accounts.json"
    $mc2 = "microsoft_accounts.json"
    $lunar = /\.lunarclient[\/\\'", ]{1,6}settings/
    $roblox = /ROBLOSECURITY[^\n]{0,120}(winreg|QueryValue|EnumValue|cookies)|(winreg|QueryValue|EnumValue|OpenKey)[^\n]{0,200}Roblox/ nocase
    $steam = /ssfn[0-9*]|config[\/\\]+loginusers\.vdf/
  condition: any of them
}
