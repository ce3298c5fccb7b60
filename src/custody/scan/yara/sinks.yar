// Internal: offsets of dangerous calls. The engine uses them to decide which library modules need
// the full AST analysis (a sink at module level, or in a function the module itself calls).
// `internal = "sink"` rules never become findings.

rule custody_sink_calls {
  meta: internal = "sink"
  strings:
    $exec = /[^.\w](exec|eval|compile|execfile|__import__)\s*\(/
    $builtins = /getattr\s*\(\s*_*builtins/
    // a builtin taken from the builtins namespace by key: `vars(builtins)["exec"]`,
    // `builtins.__dict__["ex" + "ec"]`, `__builtins__["eval"]`, `globals()["__builtins__"]["exec"]`
    $builtins_key = /(vars\(\s*_*builtins_*\s*\)|builtins_*\.__dict__|__builtins__["']?\s*\]?)\s*\[/
    $proc = /(subprocess\.\w+|os\.(system|popen|startfile|exec\w*|spawn\w*|dup2|chmod)|Popen|check_output|check_call)\s*\(/
    $net = /(socket\.socket|create_connection|urlopen|urlretrieve|requests\.(get|post|put|patch|delete|head|request|Session)|httpx\.(get|post|put|patch|delete|request|stream|Client|AsyncClient)|urllib3?\.\w+|http\.client\.\w+|HTTPS?Connection|aiohttp\.\w+)\s*\(/
    $dec = /(b64decode|b32decode|b85decode|a85decode|unhexlify|fromhex|decompress|decrypt|marshal\.loads|pickle\.loads)\s*\(/
    $misc = /(download_url_to_file|run_path|import_module|gethostname|getuser|getlogin|platform\.node|environ\.copy|pty\.spawn|pip\.main|memfd_create|get_credentials|get_frozen_credentials)\s*\(/
    $env = /os\.environ\s*\)/
    $native = /(CDLL|WinDLL|PyDLL|LoadLibrary)\s*\(/
    $dns = /(gethostbyname(_ex)?|getaddrinfo|resolver\.(resolve|query|Resolver))\s*\(|from\s+dns\.(async)?resolver\s+import\s/
    $mail = /((ftplib|smtplib|poplib|imaplib|telnetlib)\.\w+|\b(FTP|FTP_TLS|SMTP|SMTP_SSL|LMTP))\s*\(/
    $selfremove = /(remove|unlink|rmtree)\s*\([^)\n]{0,60}__file__|__file__[^\n]{0,40}\.unlink\(/
    $alias1 = /from\s+(os|subprocess|posix|nt)\s+import\s[^\n]{0,80}\b(system|popen|Popen|call|run|check_output|startfile|spawn\w*|exec\w*)\s+as\s/
    $alias2 = /from\s+(base64|binascii|marshal|zlib|codecs|pickle|builtins)\s+import\s[^\n]{0,80}\b(\w*decode\w*|unhexlify|loads|decompress|exec|eval)\s+as\s/
    $alias3 = /from\s+(urllib\.request|urllib2|requests|socket)\s+import\s[^\n]{0,80}\b(urlopen|urlretrieve|get|post|socket|create_connection)\s+as\s/
    $rename = /=\s*\(?\s*(exec|eval|compile|__import__)\s*[,;\n)]/
    $alias4 = /import\s+(subprocess|base64|marshal|ctypes|builtins)\s+as\s/
    // bare names imported from os (`from os import startfile`): the call site then has no prefix
    $bare = /from\s+(os|posix|nt)\s+import\s[^\n]{0,80}\b(system|popen|startfile|spawn\w*|exec[lv]\w*)\b/
    // a sink callable kept without being called: bound to a name (`_post = requests.post`), put in a
    // dispatch table (`{"x": os.system}`), partially applied or handed over (`target=os.system`);
    // python_ast resolves the later call through it (callables.py)
    $ref = /(=|["']\s*:|partial(method)?\()\s*(subprocess\.(Popen|run|call|check_call|check_output|getoutput|getstatusoutput)|os\.(system|popen|startfile|exec[lv]\w*|spawn[lv]\w*|posix_spawnp?)|requests\.(get|post|put|patch|delete|request)|httpx\.(get|post|put|patch|delete|request|stream)|urlopen|urlretrieve|socket\.create_connection|pty\.spawn)\s*[,)\]}\n;#]/
    // the same fetched by a constant name (`getattr(os, "system")`) or called by name on a module
    $getattr = /getattr\(\s*(os|subprocess|requests|httpx|socket|pty)\s*,\s*["'](system|popen|startfile|exec[lv]\w*|spawn[lv]\w*|Popen|run|call|check_call|check_output|getoutput|get|post|put|patch|delete|request|stream|create_connection)["']/
    // an access key id written in the code (for a cloud client, directly or through a constant):
    // a client built with it uploads to that key's account (flow.py, KEYED_CLIENT)
    $cloudkey = /["'](AKIA|ASIA)[A-Z0-9]{16}["']/
    $caller = /methodcaller\(\s*["'](system|popen|startfile|Popen|run|call|check_call|check_output|get|post|put|patch|request|urlopen|urlretrieve|create_connection)["']/
  condition: any of them
}

// Internal: a from-import of a module whose functions send or run what they are given, or the module
// imported under another name. Calls through those names (`from requests import post`, `post(url,
// data=key)`; `import requests as rq`, `rq.post(...)`) are sinks (bare_sinks.py reads the imported
// names and finds the calls); the pattern alone cannot tell `post(` from a method.
rule custody_bare_sink_imports {
  meta: internal = "bare-sink"
  strings:
    $from = /from\s+(requests|httpx|subprocess|socket)\s+import\s/
    $as = /import\s[^\n]{0,80}\b(requests|httpx|subprocess|socket)\s+as\s/
  condition: any of them
}

// Internal: an import that names a test/docs/examples folder. Such a module, when imported by
// library code, is library code (see collect.py).
rule custody_dev_imports {
  meta: internal = "dev-import"
  strings:
    $from = /from\s+\.*[\w.]*\b(tests?|testing|docs?|examples?|samples?|demos?|benchmarks?)\b[\w.]*\s+import/
    $fromdot = /from\s+\.+\s+import\s+[^\n]{0,80}\b(tests?|testing|docs?|examples?|samples?|demos?|benchmarks?)\b/
    $import = /import\s+[\w.]*\b(tests?|testing|docs?|examples?|samples?|demos?|benchmarks?)\b/
  condition: any of them
}

// Internal: values the flow analysis follows (secret-named parameters, stack frames, credential
// commands, throwaway hosts). A module with one of these and a sink gets the full analysis even
// when everything sits in functions: a helper that posts the key it is given runs when called.
rule custody_flow_sources {
  meta: internal = "flow-source"
  strings:
    $param = /def\s+\w+\s*\([^)]{0,200}\b(priv(ate)?_?key|privkey|mnemonic|seed_?phrase|key_?pair|wallet_?key)\b/ nocase
    // a function named for such a secret (`def validate_mnemonic(phrase)`): its one value is it
    // (the names flow.py `_NAMED_FOR_A_SECRET` reads)
    $named = /def\s+\w*(priv(ate)?_?key|privkey|mnemonic|seed_?(phrase|words)|wallet_?key|recovery_?phrase|wif)\s*\(/ nocase
    $frame = /inspect\.(stack|currentframe|getouterframes)|sys\._getframe/
    $cmd = /gh\s+auth\s+token|aws\s+configure\s+(get|export)|print-access-token/
    $host = /\.(mockapi\.io|mocky\.io|ngrok(-free)?\.(io|app|dev)|trycloudflare\.com|serveo\.net|loca\.lt|workers\.dev|vercel\.app|herokuapp\.com|glitch\.me|repl\.co|onrender\.com|duckdns\.org|ddns\.net|no-ip\.(org|biz)|hopto\.org|pipedream\.net|webhook\.site|beeceptor\.com|jsonbin\.io|firebaseio\.com)\b/
    $chat = /api\.telegram\.org|discord(app)?\.com\/api\/webhooks|import\s+telebot|from\s+telegram(\.ext)?\s+import|from\s+aiogram\s+import/
    $paste = /pastebin\.com|rentry\.(co|org)|cdn\.discordapp\.com|transfer\.sh|paste\.ee/
    $shift = /chr\(\s*ord\(\s*\w+\s*\)\s*[-+^]/
    // a credential folder named in code (`~/.ssh/id_rsa`, `Path.home() / ".aws"`)
    $secretdir = /[~\/\\"']\.(ssh|aws|kube|docker|gnupg|azure)["'\/\\]|\.git-credentials|\.netrc\b|\.pypirc\b/
  condition: any of them
}

// Internal: a cryptocurrency address written where a transfer's recipient goes. Such a module gets
// the full analysis wherever the code sits, so a drainer that swaps the caller's destination for
// its own address is judged (python_ast._recipient_swaps decides; this only selects the module).
// An address is a run of letters and digits (a 0x hex, bech32 or base58 address, any case) long
// enough for the shortest of them (25): checked on the match's length, which costs nothing,
// instead of a counted repetition, which made this rule a third of the whole pattern pass. It
// selects every module the exact address forms would, and a few more.
rule custody_constant_recipient {
  meta: internal = "constant-recipient"
  strings:
    $entry = /["'](dest|destination|to|recipient|receiver|to_?address|payee|beneficiary)["']\s*:\s*["'][0-9a-z]+["']/ nocase
    $bind = /\b(dest|destination|to|recipient|receiver|to_?address|payee|beneficiary)\s*=\s*["'][0-9a-z]+["']/ nocase
  condition:
    // `"to":"` and `"` around 25 characters; `to="` and `"` around them
    (for any i in (1..#entry) : (!entry[i] >= 32)) or (for any i in (1..#bind) : (!bind[i] >= 30))
}

// Internal: a module that both decodes data and executes code. A payload kept as an encoded literal
// and run from a method (`exec(b64decode(BLOB))` in `Client.__init__`) sits where the indentation
// estimate sees only call-time code, so such a module always gets the full analysis.
rule custody_decode_and_exec {
  meta: internal = "decode-and-exec"
  strings:
    $decode = /(b64decode|b32decode|b85decode|a85decode|unhexlify|fromhex|decompress|marshal\.loads)\s*\(/
    $exec = /[^.\w](exec|eval)\s*\(/
  condition: $decode and $exec
}

// Internal: a word that names a value the flow analysis treats as a source (the environment, the
// home folder, credential folders, identity, keys, stack frames). Marks a module that can hold the
// source end of a chain across modules (collect.py, `_ends`); matched in the same pass as the sinks
// instead of a second regular-expression search of every module.
rule custody_source_hint {
  meta: internal = "source-hint"
  strings:
    // the name `environ` (or `environb`), not the word "environment" that docs and build tools
    // use everywhere: the flow analysis's environment is `os.environ` under any alias
    $environ = /environb?\b/
    $getenv = "getenv"
    $expanduser = "expanduser"
    $home = "home()"
    // credential stores as the flow analysis spells them (flow.py, `_SECRET_PATH`, which ignores
    // case, as macOS and Windows file systems do); not "Cookies" or "Phantom", everyday words in
    // web and database libraries, which a browser or wallet stealer names beside these anyway
    $ssh = ".ssh" nocase
    $aws = ".aws" nocase
    $kube = ".kube" nocase
    $store = /(\.netrc|\.pypirc|\.npmrc|\.git-credentials|gcloud[\/\\]|\.azure|kubeconfig|id_(rsa|dsa|ecdsa|ed25519)|application_default_credentials|\.bash_history|\.zsh_history|\/etc\/shadow|serviceaccount[\/\\]token|wallet\.dat|\.electrum|keystore|\.config[\/\\]solana|\.docker[\/\\]config|aws[\/\\]credentials|Local Storage[\/\\]leveldb|\.config[\/\\]gh[\/\\]hosts|metamask|exodus)/ nocase
    // a `.env` file named in a path; also `self.env`, as the flow analysis reads every string
    // piece alone (`f"{d}{os.sep}.env"`, `"\x2f.env"`): what precedes `.env` tells nothing
    $env = /\.env\b/ nocase
    $hostname = "gethostname"
    $getuser = "getuser"
    $getlogin = "getlogin"
    $getpass = "getpass"
    $key = /private_?key/
    $mnemonic = "mnemonic"
    $seed = /seed_?phrase/
    $wallet = "wallet"
    $keyring = "keyring"
    $stack = "inspect.stack"
    $frame = "_getframe"
    // more of what the flow analysis reads as identity, the caller's source or a credential
    // (flow.py `_IDENTITY_CALLS`, `_FRAME_CALLS`, session history, `_CREDENTIAL_COMMANDS`); not
    // uname, platform.platform or getcwd, the platform checks of every other library
    $identity = /getfqdn|platform\.node|getnode|currentframe|getouterframes|history_manager/
    $credential_command = /auth["',\s]+token|print-access-token|find-(generic|internet)-password|cmdkey|aws["',\s]+configure|config[^\n]{0,40}credential/ nocase
    $login = "Login Data" nocase
    $state = "Local State" nocase
  condition: any of them
}

// Internal: a module that names both MCP and a tool (any case). Only such a module can declare an
// MCP tool whose description speaks to the model (signals.py, `tool_injection`, reads those alone):
// matched in this pass instead of lowering and searching every module again.
rule custody_mcp_tool {
  meta: internal = "mcp-tool"
  strings:
    $mcp = "mcp" nocase
    $tool = "tool" nocase
  condition: $mcp and $tool
}
