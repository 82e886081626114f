# A gdb heap command for malloc-standalone's allocators (any version's
# libmalloc-glibc-<version>[-...].so, preloaded or linked), and the glue
# that makes GEF's and pwndbg's heap commands read the right version.
#
#   (gdb) source gdb/malloc_standalone.py     # the Nix dev shell's gdbinit does this
#   (gdb) glibc-heap                          # everything below
#   (gdb) glibc-heap arenas | glibc-heap tcache | glibc-heap bins | glibc-heap chunks
#
# The command is `glibc-heap`, and also `heap` where no other command has
# that name (GEF and pwndbg both define `heap`, and pwndbg refuses to load
# where it exists: theirs stays, whichever is sourced first; see below and
# docs/debuggers.md).
#
# When gdb loads a libmalloc-glibc-<version>...so (or if one is loaded
# already), the version in its name is given to GEF (gef.libc._version)
# and pwndbg (its `glibc` parameter) where they are loaded: both would
# otherwise take it from the host's libc.so.6, and undo safe-linking that
# the allocator may not have (or miss it).
#
# Structure layouts come from the .so's DWARF (it is built with -g): the
# fields of struct malloc_state, malloc_chunk, tcache_perthread_struct and
# tcache_entry, and the sizes of their arrays, so versions that add, drop
# or rename fields (2.26 added the tcache and renamed the chunk's `size` to
# `mchunk_size`; 2.43 dropped fastbins; 2.42 counts free tcache slots in
# `num_slots` rather than entries in `counts`) need no table here. What
# DWARF cannot say is read off the version in the .so's name: safe-linking
# (tcache and fastbin next pointers stored as (address >> 12) ^ pointer)
# from 2.32 on.
#
# Every address printed for a free chunk is its user pointer (what malloc
# returned for it), so a program's own printed pointers can be matched.
# A list that runs into unreadable memory or loops stops with a message.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re

import gdb

MAX_WALK = 100000


class HeapError(Exception):
    pass


def _objfile():
    """The allocator's objfile: the loaded libmalloc-glibc-*.so."""
    for o in gdb.objfiles():
        name = o.filename or ""
        if re.search(r"libmalloc-glibc-\d+\.\d+[^/]*\.so$", name):
            return o
    raise HeapError(
        "no libmalloc-glibc-<version>.so is loaded (start the program with it "
        "preloaded: set exec-wrapper env LD_PRELOAD=...; then break after "
        "main starts)"
    )


class Allocator:
    """One loaded allocator: its version, symbols and types."""

    def __init__(self):
        self.objfile = _objfile()
        m = re.search(r"libmalloc-glibc-(\d+)\.(\d+)", self.objfile.filename)
        self.version = (int(m.group(1)), int(m.group(2)))
        self.safe_linking = self.version >= (2, 32)
        self.main_arena = self._static("main_arena")
        self.mp = self._static("mp_")
        self.state_type = self.main_arena.type.strip_typedefs()
        self.chunk_ptr = self.state_type["top"].type
        self.chunk_type = self.chunk_ptr.target().strip_typedefs()
        self.size_sz = gdb.lookup_type("unsigned long").sizeof
        # offsetof (struct malloc_chunk, fd): a bin header's chunk starts there
        # before its bins[] slot.
        self.fd_offset = self.chunk_type["fd"].bitpos // 8
        self.uchar_ptr = gdb.lookup_type("unsigned char").pointer()
        self.has_fastbins = _has_field(self.state_type, "fastbinsY")
        # The size field: mchunk_size from 2.26, size before.
        try:
            self.chunk_type["mchunk_size"]
            self.size_name = "mchunk_size"
        except (KeyError, gdb.error):
            self.size_name = "size"


    def _static(self, name):
        sym = self.objfile.lookup_static_symbol(name)
        if sym is None:
            sym = self.objfile.lookup_global_symbol(name)
        if sym is None:
            raise HeapError(
                "%s has no debug symbol %s (build it with -g: resolver build, "
                "or --debug)" % (self.objfile.filename, name)
            )
        return sym.value()

    def name(self):
        return "glibc %d.%d allocator (%s)" % (
            self.version[0],
            self.version[1],
            self.objfile.filename,
        )

    # -------------------------------------------------------------- chunks

    def chunk(self, address):
        return gdb.Value(address).cast(self.chunk_ptr)

    def size_field(self, chunk_address):
        c = self.chunk(chunk_address).dereference()
        return int(c[self.size_name])

    def mem(self, chunk_address):
        return chunk_address + 2 * self.size_sz

    def reveal(self, field_address, stored):
        """PROTECT_PTR's inverse, where the version has safe-linking."""
        if self.safe_linking:
            return stored ^ (field_address >> 12)
        return stored

    # -------------------------------------------------------------- arenas

    def arenas(self):
        out = []
        a = self.main_arena.address
        seen = set()
        while int(a) not in seen and len(out) < 1024:
            seen.add(int(a))
            out.append(a)
            a = a.dereference()["next"]
        return out

    # -------------------------------------------------------------- tcache

    def tcache(self):
        """(address, [(index, chunk size, [user pointers], slots field)])."""
        sym = self.objfile.lookup_static_symbol("tcache")
        if sym is None:
            return None, []
        t = sym.value()
        if int(t) == 0:
            return 0, []
        st = t.dereference()
        entries = st["entries"]
        n = _array_len(entries)
        count_field = None
        for f in ("counts", "num_slots"):
            if _has_field(st.type.strip_typedefs(), f):
                count_field = f
        bins = []
        for i in range(n):
            e = int(entries[i])
            if e == 0:
                continue
            ptrs = []
            seen = set()
            error = None
            while e != 0:
                if e in seen or len(ptrs) >= MAX_WALK:
                    error = "loops"
                    break
                seen.add(e)
                ptrs.append(e)
                try:
                    entry = gdb.Value(e).cast(entries[i].type).dereference()
                    next_field = e + entry.type.strip_typedefs()["next"].bitpos // 8
                    e = self.reveal(next_field, int(entry["next"]))
                except gdb.MemoryError:
                    error = "unreadable next pointer at %#x" % e
                    break
            try:
                size = self.size_field(ptrs[0] - 2 * self.size_sz) & ~0x7
            except gdb.MemoryError:
                size = 0
            slots = int(st[count_field][i]) if count_field else None
            bins.append((i, size, ptrs, (count_field, slots), error))
        return int(t), bins

    # -------------------------------------------------------------- bins

    def fastbins(self, arena):
        if not self.has_fastbins:
            return []
        fb = arena.dereference()["fastbinsY"]
        out = []
        for i in range(_array_len(fb)):
            c = int(fb[i])
            if c == 0:
                continue
            ptrs, error, seen = [], None, set()
            while c != 0:
                if c in seen or len(ptrs) >= MAX_WALK:
                    error = "loops"
                    break
                seen.add(c)
                ptrs.append(self.mem(c))
                try:
                    fd_address = c + self.fd_offset
                    c = self.reveal(fd_address, int(self.chunk(c).dereference()["fd"]))
                except gdb.MemoryError:
                    error = "unreadable fd at chunk %#x" % c
                    break
            out.append((i, (i + 2) * 2 * self.size_sz, ptrs, error))
        return out

    def bins(self, arena):
        """[(bin number, kind, [user pointers], error)] of non-empty bins."""
        bins = arena.dereference()["bins"]
        base = int(bins.address)
        slot = bins[0].type.sizeof
        out = []
        for i in range(1, _array_len(bins) // 2 + 1):
            header = base + (i - 1) * 2 * slot - self.fd_offset
            first = int(self.chunk(header).dereference()["fd"])
            if first == header:
                continue
            kind = "unsorted" if i == 1 else ("small" if i < 64 else "large")
            ptrs, error, seen, c = [], None, set(), first
            while c != header:
                if c in seen or len(ptrs) >= MAX_WALK:
                    error = "loops"
                    break
                seen.add(c)
                ptrs.append(self.mem(c))
                try:
                    c = int(self.chunk(c).dereference()["fd"])
                except gdb.MemoryError:
                    error = "unreadable fd at chunk %#x" % c
                    break
            out.append((i, kind, ptrs, error))
        return out

    # -------------------------------------------------------------- heap walk

    def main_chunks(self):
        """The main arena's chunks from the heap's start to its top."""
        top = int(self.main_arena["top"])
        start = int(self.mp["sbrk_base"])
        align = 2 * self.size_sz
        start = (start + align - 1) & ~(align - 1)
        out = []
        c = start
        while c != top and len(out) < MAX_WALK:
            try:
                raw = self.size_field(c)
            except gdb.MemoryError:
                return out, "unreadable chunk header at %#x" % c
            size = raw & ~0x7
            if size < 2 * align or c + size > top:
                return out, "corrupt size %#x at chunk %#x" % (raw, c)
            try:
                next_raw = self.size_field(c + size)
            except gdb.MemoryError:
                return out, "unreadable chunk header at %#x" % (c + size)
            out.append((c, size, raw & 0x7, bool(next_raw & 1)))
            c += size
        try:
            top_size = self.size_field(top)
        except gdb.MemoryError:
            top_size = 0
        out.append((top, top_size & ~0x7, top_size & 0x7, None))
        return out, None


def _has_field(t, name):
    return any(f.name == name for f in t.fields())


def _array_len(v):
    lo, hi = v.type.strip_typedefs().range()
    return hi - lo + 1


def _flags(bits):
    names = []
    if bits & 1:
        names.append("PREV_INUSE")
    if bits & 2:
        names.append("IS_MMAPPED")
    if bits & 4:
        names.append("NON_MAIN_ARENA")
    return "|".join(names) or "-"


def _ptrs(ptrs):
    return ", ".join("%#x" % p for p in ptrs)


def show_arenas(a):
    for arena in a.arenas():
        s = arena.dereference()
        label = "main_arena" if int(arena) == int(a.main_arena.address) else "arena"
        gdb.write(
            "%s %#x: top %#x, last_remainder %#x, system_mem %#x, flags %#x\n"
            % (
                label,
                int(arena),
                int(s["top"]),
                int(s["last_remainder"]),
                int(s["system_mem"]),
                int(s["flags"]),
            )
        )


def show_tcache(a):
    address, bins = a.tcache()
    thread = gdb.selected_thread()
    tid = thread.num if thread is not None else 0
    if address is None:
        gdb.write("tcache: this version has none\n")
        return
    if address == 0:
        gdb.write("tcache of thread %d: not yet allocated\n" % tid)
        return
    gdb.write("tcache of thread %d at %#x:\n" % (tid, address))
    for i, size, ptrs, (field, slots), error in bins:
        extra = "" if field is None else ", %s[%d] = %d" % (field, i, slots)
        gdb.write(
            "  tcache bin %d (chunk size %#x): %d entries%s: %s%s\n"
            % (i, size, len(ptrs), extra, _ptrs(ptrs), " (%s)" % error if error else "")
        )


def show_bins(a):
    for arena in a.arenas():
        gdb.write("bins of arena %#x:\n" % int(arena))
        for i, size, ptrs, error in a.fastbins(arena):
            gdb.write(
                "  fastbin %d (chunk size %#x): %s%s\n"
                % (i, size, _ptrs(ptrs), " (%s)" % error if error else "")
            )
        for i, kind, ptrs, error in a.bins(arena):
            label = "unsorted bin" if kind == "unsorted" else "%s bin %d" % (kind, i)
            gdb.write(
                "  %s: %s%s\n" % (label, _ptrs(ptrs), " (%s)" % error if error else "")
            )


def show_chunks(a):
    chunks, error = a.main_chunks()
    gdb.write("chunks of main_arena (from mp_.sbrk_base to top):\n")
    for c, size, bits, in_use in chunks:
        state = "top" if in_use is None else ("in use" if in_use else "free")
        gdb.write(
            "  chunk %#x (mem %#x) size %#x %s %s\n"
            % (c, a.mem(c), size, _flags(bits), state)
        )
    if error:
        gdb.write("  stopped: %s\n" % error)


COMMAND = "glibc-heap"
PARTS = ("arenas", "tcache", "bins", "chunks")


class Heap(gdb.Command):
    """Print the heap of malloc-standalone's allocator (any glibc version).

glibc-heap            arenas, the current thread's tcache, every arena's bins,
                      and the main arena's chunks
glibc-heap arenas     each arena: top, last remainder, system memory, flags
glibc-heap tcache     the current thread's tcache: per bin, its entries (user pointers)
glibc-heap bins       per arena: fastbins, the unsorted bin, small and large bins
glibc-heap chunks     the main arena's chunks, in address order, with their flags

Also `heap` where no other command had that name when this was sourced.
Layouts come from the .so's DWARF; free chunks are shown by user pointer."""

    def __init__(self, name):
        super().__init__(name, gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, arg, from_tty):
        run(arg.split() or ["all"])


def run(parts):
    try:
        a = Allocator()
    except HeapError as e:
        raise gdb.GdbError(str(e))
    what = parts[0]
    if what not in ("all",) + PARTS:
        raise gdb.GdbError(
            "%s: unknown part %r (%s)" % (COMMAND, what, ", ".join(PARTS))
        )
    gdb.write(a.name() + "\n")
    if what in ("all", "arenas"):
        show_arenas(a)
    if what in ("all", "tcache"):
        show_tcache(a)
    if what in ("all", "bins"):
        show_bins(a)
    if what in ("all", "chunks"):
        show_chunks(a)


class HeapPart(gdb.Command):
    def __init__(self, prefix, part, doc):
        self.__doc__ = doc
        self.part = part
        super().__init__(prefix + " " + part, gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        run([self.part])


PART_DOCS = {
    "arenas": "Each arena of the allocator: top, last remainder, system memory, flags.",
    "tcache": "The current thread's tcache: per bin, its entries (user pointers).",
    "bins": "Per arena: fastbins, the unsorted bin, small and large bins (user pointers).",
    "chunks": "The main arena's chunks in address order, with their flags.",
}


def _command_exists(name):
    try:
        gdb.execute("help " + name, to_string=True)
        return True
    except gdb.error:
        return False


def _register(name):
    Heap(name)
    for part in PARTS:
        HeapPart(name, part, PART_DOCS[part])


# ------------------------------------------------------------------ plugins


def _version_of(objfile):
    """(major, minor) of a libmalloc-glibc-<version>...so, else None."""
    m = re.search(
        r"libmalloc-glibc-(\d+)\.(\d+)[^/]*\.so$", getattr(objfile, "filename", "") or ""
    )
    return (int(m.group(1)), int(m.group(2))) if m else None


def _gef():
    import __main__

    return getattr(__main__, "gef", None)


def _pwndbg():
    import sys

    return sys.modules.get("pwndbg")


def tell_plugins(version):
    """Gives GEF and pwndbg, where loaded, the allocator's glibc version.
    (Through their Python objects: a gdb command run from the new-objfile
    event while the program starts up can stop the run.)"""
    libc = getattr(_gef(), "libc", None)
    if libc is not None and hasattr(libc, "_version"):
        libc._version = version
    if _pwndbg() is not None:
        # What pwndbg's `set glibc <version>` leaves in its parameter.
        param = getattr(getattr(_pwndbg(), "glibc", None), "glibc_version", None)
        if param is not None and hasattr(param, "value"):
            param.value = version
        else:
            gdb.write(
                "malloc_standalone: this pwndbg has no pwndbg.glibc.glibc_version; "
                "run `set glibc %d.%d` yourself\n" % version
            )


# `heap` is ours only where no other command has the name. pwndbg refuses
# to load where `heap` exists already, so the name is taken only when the
# program first stops (by then every plugin of a gdbinit or command line
# is loaded), or at once where the allocator is loaded already (a core
# file). At the stop no gdb command may run (it would cancel the
# breakpoint's own commands), so only GEF and pwndbg, the plugins known to
# define `heap`, are looked for then.
_heap_pending = [not _command_exists("heap")]


def _take_heap():
    if _heap_pending[0]:
        _heap_pending[0] = False
        if _gef() is None and _pwndbg() is None:
            _register("heap")


def _on_stop(event):
    _take_heap()


def _on_new_objfile(event):
    version = _version_of(event.new_objfile)
    if version is not None:
        tell_plugins(version)


if not _command_exists(COMMAND):
    _register(COMMAND)
gdb.events.new_objfile.connect(_on_new_objfile)
gdb.events.stop.connect(_on_stop)
for _o in gdb.objfiles():
    if _version_of(_o) is not None:
        _take_heap()
        tell_plugins(_version_of(_o))
