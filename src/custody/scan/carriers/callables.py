"""Which importable callables make a serialized object (pickle, YAML) dangerous to load.

Pickle and PyYAML's unsafe loaders can name any importable callable and call it while the data
is loaded. Model files and configs legitimately name constructors (`collections.OrderedDict`,
`torch._utils._rebuild_tensor_v2`, `numpy.core.multiarray._reconstruct`); what no data file
needs is a callable that runs code, starts a process, opens a connection or touches files. The
classes below follow what picklescan, fickling and modelscan treat as unsafe globals, split by
what a call does so the rules can weigh them.
"""

from __future__ import annotations

import enum


class Danger(str, enum.Enum):
    """How dangerous a callable reached from a pickle or YAML document is: it executes, it is a risky
    building block, or it looks another callable up by name."""

    EXEC = "exec"
    """Runs code or a program: exec/eval, os.system, subprocess, runpy, code objects..."""
    RISKY = "risky"
    """Reaches files, the network or the interpreter's state: a building block of a payload."""
    INDIRECT = "indirect"
    """Looks a callable up by name (getattr, attrgetter): harmless unless the result is called,
    as pickles of bound methods legitimately do the lookup alone."""


_EVERY_NAME = "*"

# module -> names (or every name) that run code or programs when called
_EXEC: dict[str, frozenset[str]] = {
    "builtins": frozenset({"eval", "exec", "execfile", "compile", "__import__", "breakpoint"}),
    "os": frozenset(
        {
            "system",
            "popen",
            "popen2",
            "popen3",
            "popen4",
            "startfile",
            "execl",
            "execle",
            "execlp",
            "execlpe",
            "execv",
            "execve",
            "execvp",
            "execvpe",
            "spawnl",
            "spawnle",
            "spawnlp",
            "spawnlpe",
            "spawnv",
            "spawnve",
            "spawnvp",
            "spawnvpe",
            "posix_spawn",
            "posix_spawnp",
            "fork",
            "forkpty",
        }
    ),
    "subprocess": frozenset({_EVERY_NAME}),
    "_posixsubprocess": frozenset({_EVERY_NAME}),
    "pty": frozenset({"spawn"}),
    "commands": frozenset({_EVERY_NAME}),
    "runpy": frozenset({_EVERY_NAME}),
    "code": frozenset({_EVERY_NAME}),
    "codeop": frozenset({_EVERY_NAME}),
    "importlib": frozenset({_EVERY_NAME}),
    "imp": frozenset({_EVERY_NAME}),
    "pkgutil": frozenset({"get_importer", "iter_importers", "resolve_name"}),
    "marshal": frozenset({"loads", "load"}),
    "types": frozenset({"CodeType", "FunctionType", "LambdaType", "MethodType"}),
    "pickle": frozenset({"loads", "load", "_loads", "_load", "Unpickler"}),
    "_pickle": frozenset({"loads", "load", "Unpickler"}),
    "dill": frozenset({"loads", "load"}),
    "cloudpickle": frozenset({"loads", "load"}),
    "ctypes": frozenset({_EVERY_NAME}),
    "_ctypes": frozenset({_EVERY_NAME}),
    "pdb": frozenset({"run", "runeval", "runcall", "runctx"}),
    "bdb": frozenset({_EVERY_NAME}),
    "profile": frozenset({"run", "runctx"}),
    "cProfile": frozenset({"run", "runctx"}),
    "timeit": frozenset({"timeit", "repeat", "Timer"}),
    "trace": frozenset({_EVERY_NAME}),
    "platform": frozenset({"popen"}),
    "asyncio": frozenset({"create_subprocess_exec", "create_subprocess_shell", "subprocess"}),
    "asyncio.subprocess": frozenset({_EVERY_NAME}),
    "multiprocessing.util": frozenset({"spawnv_passfds"}),
    "uuid": frozenset({"_get_command_stdout"}),
    "ensurepip": frozenset({_EVERY_NAME}),
    "pip": frozenset({_EVERY_NAME}),
    "numpy.testing._private.utils": frozenset({"runstring"}),
    # standard-library helpers that start a command given as text
    "pydoc": frozenset({"pipepager", "tempfilepager", "pager", "getpager"}),
    "distutils.spawn": frozenset({"spawn"}),
    "setuptools._distutils.spawn": frozenset({"spawn"}),
    "imaplib": frozenset({"IMAP4_stream"}),
    "_osx_support": frozenset({"_read_output", "_find_build_tool"}),
    "test.support.script_helper": frozenset({_EVERY_NAME}),
    "torch.hub": frozenset({"load", "load_state_dict_from_url", "download_url_to_file"}),
    "torch.serialization": frozenset({"load"}),
    "torch": frozenset({"load"}),
    "__main__": frozenset({_EVERY_NAME}),
}
# Names that only help a payload: attribute lookups, files, connections, browsers, deletion.
_CLIENT_CALLS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"})
# Names that only help a payload: files, connections, browsers, deletion. Modules whose value
# types (enums, parsed URLs, response objects) legitimately appear in data list their
# functions only.
_RISKY: dict[str, frozenset[str]] = {
    "builtins": frozenset({"setattr", "delattr", "open", "globals", "locals", "vars", "input", "help"}),
    "os": frozenset(
        {
            "remove",
            "unlink",
            "rmdir",
            "removedirs",
            "rename",
            "renames",
            "replace",
            "chmod",
            "chown",
            "makedirs",
            "mkdir",
            "symlink",
            "link",
            "kill",
            "killpg",
            "putenv",
            "unsetenv",
            "write",
            "open",
            "fdopen",
            "listdir",
            "scandir",
            "walk",
            "getenv",
            "chdir",
            "truncate",
            "_exit",
            "abort",
            "setuid",
            "setgid",
            "memfd_create",
        }
    ),
    "shutil": frozenset(
        {"rmtree", "move", "copy", "copy2", "copyfile", "copytree", "chown", "make_archive", "unpack_archive"}
    ),
    "sys": frozenset({_EVERY_NAME}),
    "socket": frozenset(
        {"socket", "create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo"}
    ),
    "_socket": frozenset({"socket", "getaddrinfo"}),
    "webbrowser": frozenset({_EVERY_NAME}),
    "requests": _CLIENT_CALLS,
    "requests.api": _CLIENT_CALLS,
    "httpx": _CLIENT_CALLS,
    "urllib.request": frozenset({_EVERY_NAME}),
    "urllib": frozenset({"urlopen", "urlretrieve"}),
    "urllib2": frozenset({_EVERY_NAME}),
    "http.client": frozenset({_EVERY_NAME}),
    "http.server": frozenset({_EVERY_NAME}),
    "httplib": frozenset({_EVERY_NAME}),
    "ftplib": frozenset({_EVERY_NAME}),
    "smtplib": frozenset({_EVERY_NAME}),
    "telnetlib": frozenset({_EVERY_NAME}),
    # pickled functions: code that ships without source (dill, cloudpickle)
    "dill": frozenset({"_create_code", "_create_function", "_create_lambda", "_import_module"}),
    "cloudpickle": frozenset({"_make_function", "_builtin_type", "subimport", "_make_code"}),
    "zipimport": frozenset({_EVERY_NAME}),
    "io": frozenset({"open", "FileIO", "open_code"}),
    "_io": frozenset({"open", "FileIO", "open_code"}),
}
_INDIRECT: dict[str, frozenset[str]] = {
    "builtins": frozenset({"getattr"}),
    "operator": frozenset({"attrgetter", "methodcaller"}),
}
# Spellings of the same module: `posix.system` is what `os.system` pickles as on Linux.
_ALIASES = {
    "__builtin__": "builtins",
    "__builtins__": "builtins",
    "posix": "os",
    "nt": "os",
    "posixpath": "os",
    "ntpath": "os",
    "dill._dill": "dill",
    "cloudpickle.cloudpickle": "cloudpickle",
    "cloudpickle.cloudpickle_fast": "cloudpickle",
    "pip._internal": "pip",
}


def _lookup(table: dict[str, frozenset[str]], module: str, name: str) -> bool:
    # `subprocess.Popen`, and sub-modules of a module whose every name counts (`urllib.request`)
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        names = table.get(_ALIASES.get(prefix, prefix))
        if names is None:
            continue
        if _EVERY_NAME in names:
            return True
        if cut == len(parts) and (name in names or name.split(".", 1)[0] in names):
            return True
    return False


def classify_callable(module: str, name: str) -> Danger | None:
    """How dangerous calling `module.name` from a data file is; None for anything else.

    `name` may be dotted (`Popen.__init__`, protocol 4 qualified names); an empty `name` asks
    about the module itself (YAML `!!python/module:`)."""
    module = module.strip()
    name = name.strip()
    module = _ALIASES.get(module, module)
    if _lookup(_EXEC, module, name):
        return Danger.EXEC
    if _lookup(_RISKY, module, name):
        return Danger.RISKY
    if _lookup(_INDIRECT, module, name):
        return Danger.INDIRECT
    return None


__all__ = ["Danger", "classify_callable"]
