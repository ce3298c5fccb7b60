// Decode-then-execute and download-then-execute written on one line: found by text so they are
// caught even in sources that do not parse or are too large to parse.

rule text_decode_exec {
  meta: cap = "decode-exec" detail = "exec/eval of decoded data (text match)"
  strings:
    // only with an encoded literal right there: decoding a variable is everyday code
    $a = /(exec|eval)\s*\(\s*[^\n]{0,200}(b64decode|b32decode|b16decode|b85decode|unhexlify|decompress|loads|fromhex)\s*\(\s*b?['"][A-Za-z0-9+\/=_\-]{40}/
  condition: $a
}

rule text_download_exec {
  meta: cap = "network-exec" detail = "exec/eval of downloaded data (text match)"
  strings:
    $a = /(exec|eval)\s*\(\s*[^\n]{0,120}(urlopen|requests\.get|urllib\.request)[^\n]{0,120}(\.read\(\)|\.text|\.content)/
  condition: $a
}

rule shell_decode_pipe {
  meta: cap = "decode-exec" detail = "decodes base64 and pipes it into a shell"
  strings:
    $a = /base64\s+(-d|--decode|-D)\s*\|\s*(ba|z)?sh\b/
    $b = /FromBase64String\([^\n]{0,200}(iex|Invoke-Expression)/ nocase
  condition: any of them
}
