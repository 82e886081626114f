//! The only libclang boundary, private to this crate.
//!
//! Every libclang call in the project lives in this module (modelled on
//! rust-bindgen's `clang.rs`): handles are newtypes whose `Drop` disposes
//! them, `unsafe` stays in here with one FFI call per method, and the C
//! visitor callbacks become Rust closures through a generic trampoline.
//!
//! Soundness rests on lifetimes: a [`TranslationUnit`] borrows its
//! [`Index`], and everything read out of a translation unit that still
//! points into it ([`Cursor`], [`Diagnostic`]) carries the TU's lifetime
//! `'tu`, so safe code cannot use one after the TU is disposed. What leaves
//! the module otherwise is owned data (strings, paths, [`Location`]s).
//!
//! libclang is loaded at run time (clang-sys `runtime`), so that building from
//! a pinned manifest never needs it: only `resolve` does.

#![allow(non_upper_case_globals)]

use std::ffi::{CStr, CString};
use std::marker::PhantomData;
use std::os::raw::{c_char, c_uint, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use clang_sys::*;

/// Errors at the libclang boundary.
#[derive(Debug, thiserror::Error)]
pub enum ClangError {
    /// libclang could not be found or loaded.
    #[error(
        "libclang could not be loaded ({0}); install Debian's `libclang1-14` and \
         `libclang-common-14-dev` (apt-get install libclang1-14 libclang-common-14-dev), \
         or point LIBCLANG_PATH at the directory holding libclang.so"
    )]
    Load(String),
    /// A library was found and loaded, but it is not (a recent enough)
    /// libclang: the message says which file and what to do.
    #[error("{0}")]
    Unusable(String),
    /// libclang refused to parse a file at all (not the same as a file with errors).
    #[error("libclang could not parse {path}: error code {code}")]
    Parse { path: PathBuf, code: i32 },
    /// An argument or path contained a NUL byte.
    #[error("argument contains a NUL byte: {0:?}")]
    Nul(String),
}

/// Why libclang is not at hand.
#[derive(Clone, Debug)]
enum LoadFailure {
    /// Not found, or not loadable (clang-sys's message).
    NotFound(String),
    /// Loaded, but not a libclang this module can use (the whole message).
    Unusable(String),
}

static LIBRARY: OnceLock<Result<Arc<SharedLibrary>, LoadFailure>> = OnceLock::new();

/// Loads libclang once per process and makes it available to the calling
/// thread (clang-sys keeps the loaded library per thread).
pub(crate) fn load() -> Result<(), ClangError> {
    if is_loaded() {
        return Ok(());
    }
    let lib = LIBRARY.get_or_init(|| {
        let lib = load_manually().map_err(LoadFailure::NotFound)?;
        check_functions(&lib)?;
        Ok(Arc::new(lib))
    });
    match lib {
        Ok(lib) => {
            set_library(Some(lib.clone()));
            Ok(())
        }
        Err(LoadFailure::NotFound(e)) => Err(ClangError::Load(e.clone())),
        Err(LoadFailure::Unusable(e)) => Err(ClangError::Unusable(e.clone())),
    }
}

/// Lists every libclang function this module calls, and checks a loaded
/// library for them: clang-sys panics at the first call of one the library
/// lacks (`LIBCLANG_PATH` at a directory whose `libclang.so` is some other
/// library, or a libclang too old), where a message can say what to do.
macro_rules! required_functions {
    ($($name:ident),* $(,)?) => {
        /// The names, for the test that keeps the list whole.
        #[cfg(test)]
        const REQUIRED: &[&str] = &[$(stringify!($name)),*];

        /// The required functions `lib` lacks.
        fn missing_functions(lib: &SharedLibrary) -> Vec<&'static str> {
            let mut missing = Vec::new();
            $(
                if lib.functions.$name.is_none() {
                    missing.push(stringify!($name));
                }
            )*
            missing
        }
    };
}

required_functions!(
    clang_Cursor_Evaluate,
    clang_Cursor_getStorageClass,
    clang_Cursor_isMacroBuiltin,
    clang_Cursor_isNull,
    clang_EvalResult_dispose,
    clang_EvalResult_getAsLongLong,
    clang_EvalResult_getKind,
    clang_createIndex,
    clang_disposeDiagnostic,
    clang_disposeIndex,
    clang_disposeString,
    clang_disposeTokens,
    clang_disposeTranslationUnit,
    clang_getCString,
    clang_getClangVersion,
    clang_getCursor,
    clang_getCursorDefinition,
    clang_getCursorExtent,
    clang_getCursorKind,
    clang_getCursorLinkage,
    clang_getCursorLocation,
    clang_getCursorReferenced,
    clang_getCursorSpelling,
    clang_getDiagnostic,
    clang_getDiagnosticLocation,
    clang_getDiagnosticOption,
    clang_getDiagnosticSeverity,
    clang_getDiagnosticSpelling,
    clang_getFileName,
    clang_getIncludedFile,
    clang_getInclusions,
    clang_getNumDiagnostics,
    clang_getRangeStart,
    clang_getSpellingLocation,
    clang_getToken,
    clang_getTokenKind,
    clang_getTokenSpelling,
    clang_getTranslationUnitCursor,
    clang_isAttribute,
    clang_isCursorDefinition,
    clang_parseTranslationUnit2,
    clang_tokenize,
    clang_visitChildren,
);

/// Refuses a loaded library that lacks a function this module calls,
/// naming the file, what it lacks and what to do.
fn check_functions(lib: &SharedLibrary) -> Result<(), LoadFailure> {
    let missing = missing_functions(lib);
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let path = lib.path().display();
    let what = if lib.functions.clang_createIndex.is_none()
        && lib.functions.clang_getClangVersion.is_none()
    {
        format!("{path} is not libclang: it defines none of libclang's functions")
    } else {
        format!(
            "{path} is a libclang without {first}{} (too old: libclang 10 or later is needed)",
            match missing.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            }
        )
    };
    let fix = match std::env::var_os("LIBCLANG_PATH") {
        Some(dir) => format!(
            "it was found through LIBCLANG_PATH={}: point LIBCLANG_PATH at the directory \
             holding a real libclang.so (Debian's libclang1-14: /usr/lib/llvm-14/lib), or \
             unset it",
            Path::new(&dir).display()
        ),
        None => "install Debian's `libclang1-14` and `libclang-common-14-dev` (apt-get install \
                 libclang1-14 libclang-common-14-dev), or point LIBCLANG_PATH at the directory \
                 holding a real libclang.so"
            .to_string(),
    };
    Err(LoadFailure::Unusable(format!("{what}; {fix}")))
}

/// The loaded libclang's version string, e.g. "Debian clang version 14.0.6".
pub(crate) fn version() -> Result<String, ClangError> {
    load()?;
    // SAFETY: libclang is loaded; the returned CXString is disposed by `take`.
    Ok(unsafe { take(clang_getClangVersion()) })
}

/// Converts and disposes a `CXString`.
///
/// # Safety
/// `s` must be a valid `CXString` returned by libclang and not yet disposed.
unsafe fn take(s: CXString) -> String {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let p = clang_getCString(s);
        let out = if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        };
        clang_disposeString(s);
        out
    }
}

/// A libclang index: the owner of translation units.
pub(crate) struct Index {
    x: CXIndex,
}

impl Index {
    /// Creates an index; diagnostics are not printed by libclang itself.
    pub(crate) fn new() -> Result<Index, ClangError> {
        load()?;
        // SAFETY: libclang is loaded; arguments are plain flags.
        let x = unsafe { clang_createIndex(0, 0) };
        Ok(Index { x })
    }

    /// Parses `path` with command-line `args` (no compiler name).
    ///
    /// Function bodies are kept (we need every call) and a detailed
    /// preprocessing record is requested (we need macro expansions).
    pub(crate) fn parse(
        &self,
        path: &Path,
        args: &[String],
    ) -> Result<TranslationUnit<'_>, ClangError> {
        let c_path = cstring(&path.to_string_lossy())?;
        let c_args = args
            .iter()
            .map(|a| cstring(a))
            .collect::<Result<Vec<_>, _>>()?;
        let ptrs: Vec<*const c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
        let mut tu: CXTranslationUnit = std::ptr::null_mut();
        let flags = CXTranslationUnit_DetailedPreprocessingRecord | CXTranslationUnit_KeepGoing;
        // SAFETY: all pointers outlive the call; `tu` is an out-parameter.
        let code = unsafe {
            clang_parseTranslationUnit2(
                self.x,
                c_path.as_ptr(),
                ptrs.as_ptr(),
                ptrs.len() as i32,
                std::ptr::null_mut(),
                0,
                flags,
                &mut tu,
            )
        };
        if code != CXError_Success || tu.is_null() {
            return Err(ClangError::Parse {
                path: path.to_owned(),
                code,
            });
        }
        Ok(TranslationUnit {
            x: tu,
            _index: PhantomData,
        })
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        // SAFETY: `x` came from clang_createIndex and all TUs borrow `self`.
        unsafe { clang_disposeIndex(self.x) }
    }
}

fn cstring(s: &str) -> Result<CString, ClangError> {
    CString::new(s).map_err(|_| ClangError::Nul(s.to_owned()))
}

/// A parsed translation unit; it cannot outlive its [`Index`], and nothing
/// borrowed from it (cursors, diagnostics) can outlive it.
pub(crate) struct TranslationUnit<'i> {
    x: CXTranslationUnit,
    _index: PhantomData<&'i Index>,
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Ignored,
    Note,
    Warning,
    Error,
    Fatal,
}

/// A place in a source file (the spelling location).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Location {
    pub file: Option<PathBuf>,
    pub line: u32,
    pub column: u32,
}

/// One `#include` edge: `includer` (file and line of the directive) included `file`.
#[derive(Clone, Debug)]
pub(crate) struct Inclusion {
    pub file: PathBuf,
    pub includer: Option<(PathBuf, u32)>,
}

impl<'i> TranslationUnit<'i> {
    /// All diagnostics, in the order libclang reports them.
    pub(crate) fn diagnostics(&self) -> Vec<Diagnostic<'_>> {
        // SAFETY: `self.x` is a live TU; each diagnostic borrows it.
        let n = unsafe { clang_getNumDiagnostics(self.x) };
        (0..n)
            .map(|i| Diagnostic {
                // SAFETY: `i` is in range.
                x: unsafe { clang_getDiagnostic(self.x, i) },
                tu: self.x,
                _tu: PhantomData,
            })
            .collect()
    }

    /// Every file the TU included, with the directive that included it.
    pub(crate) fn inclusions(&self) -> Vec<Inclusion> {
        let mut out: Vec<Inclusion> = Vec::new();
        extern "C" fn visit(
            file: CXFile,
            stack: *mut CXSourceLocation,
            len: c_uint,
            data: CXClientData,
        ) {
            // SAFETY: `data` is the `&mut Vec<Inclusion>` passed below; `stack`
            // holds `len` locations, valid for the duration of the callback.
            unsafe {
                let out = &mut *(data as *mut Vec<Inclusion>);
                let file = file_name(file);
                let includer = if len > 0 {
                    let loc = location_of(*stack);
                    loc.file.map(|f| (f, loc.line))
                } else {
                    None
                };
                out.push(Inclusion { file, includer });
            }
        }
        // SAFETY: the callback only touches `out`, which outlives the call.
        unsafe {
            clang_getInclusions(
                self.x,
                visit,
                &mut out as *mut Vec<Inclusion> as *mut c_void,
            );
        }
        out
    }

    /// The TU's root cursor.
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        Cursor {
            // SAFETY: `self.x` is a live TU.
            x: unsafe { clang_getTranslationUnitCursor(self.x) },
            tu: self.x,
            _tu: PhantomData,
        }
    }
}

impl Drop for TranslationUnit<'_> {
    fn drop(&mut self) {
        // SAFETY: `x` came from clang_parseTranslationUnit2, and nothing
        // borrowed from it outlives `self`.
        unsafe { clang_disposeTranslationUnit(self.x) }
    }
}

/// # Safety
/// `f` must be a valid `CXFile` or null.
unsafe fn file_name(f: CXFile) -> PathBuf {
    if f.is_null() {
        return PathBuf::new();
    }
    // SAFETY: guaranteed by the caller.
    PathBuf::from(unsafe { take(clang_getFileName(f)) })
}

/// # Safety
/// `loc` must be a valid source location of a live TU.
unsafe fn location_of(loc: CXSourceLocation) -> Location {
    let mut file: CXFile = std::ptr::null_mut();
    let (mut line, mut column, mut offset) = (0, 0, 0);
    // SAFETY: out-parameters are valid; guaranteed by the caller.
    unsafe {
        clang_getSpellingLocation(loc, &mut file, &mut line, &mut column, &mut offset);
        Location {
            file: if file.is_null() {
                None
            } else {
                Some(file_name(file))
            },
            line,
            column,
        }
    }
}

/// The spellings of the tokens in `range` of the live TU `tu`.
///
/// # Safety
/// `tu` must be live and `range` one of its ranges.
unsafe fn tokens_in(tu: CXTranslationUnit, range: CXSourceRange) -> Vec<String> {
    // SAFETY: guaranteed by the caller; the token array is disposed before returning.
    unsafe {
        let mut toks: *mut CXToken = std::ptr::null_mut();
        let mut n: c_uint = 0;
        clang_tokenize(tu, range, &mut toks, &mut n);
        if toks.is_null() {
            return Vec::new();
        }
        let out = (0..n as usize)
            .map(|i| take(clang_getTokenSpelling(tu, *toks.add(i))))
            .collect();
        clang_disposeTokens(tu, toks, n);
        out
    }
}

/// The spelling of the token at `loc` (only an identifier if `identifier`).
///
/// # Safety
/// `tu` must be live and `loc` one of its locations.
unsafe fn token_at(
    tu: CXTranslationUnit,
    loc: CXSourceLocation,
    identifier: bool,
) -> Option<String> {
    // SAFETY: guaranteed by the caller; the one token is disposed before returning.
    unsafe {
        let tok = clang_getToken(tu, loc);
        if tok.is_null() {
            return None;
        }
        let out = (!identifier || clang_getTokenKind(*tok) == CXToken_Identifier)
            .then(|| take(clang_getTokenSpelling(tu, *tok)));
        clang_disposeTokens(tu, tok, 1);
        out
    }
}

/// One compiler diagnostic of a live translation unit.
pub(crate) struct Diagnostic<'tu> {
    x: CXDiagnostic,
    tu: CXTranslationUnit,
    _tu: PhantomData<&'tu TranslationUnit<'tu>>,
}

impl<'tu> Diagnostic<'tu> {
    /// How serious it is.
    pub(crate) fn severity(&self) -> Severity {
        // SAFETY: `self.x` is a live diagnostic.
        match unsafe { clang_getDiagnosticSeverity(self.x) } {
            CXDiagnostic_Ignored => Severity::Ignored,
            CXDiagnostic_Note => Severity::Note,
            CXDiagnostic_Warning => Severity::Warning,
            CXDiagnostic_Error => Severity::Error,
            _ => Severity::Fatal,
        }
    }

    /// The text people read (for reports only: nothing is decided on it but
    /// what [`crate::parse`] documents).
    pub(crate) fn message(&self) -> String {
        // SAFETY: `self.x` is live; the CXString is disposed by `take`.
        unsafe { take(clang_getDiagnosticSpelling(self.x)) }
    }

    /// The warning option that controls it, e.g.
    /// `-Wimplicit-function-declaration` (empty for hard errors).
    pub(crate) fn option(&self) -> String {
        // SAFETY: `self.x` is live; the CXString is disposed by `take`.
        unsafe { take(clang_getDiagnosticOption(self.x, std::ptr::null_mut())) }
    }

    /// The node of the AST or preprocessing record it points at (an
    /// `#include` directive, a reference...).
    pub(crate) fn cursor(&self) -> Cursor<'tu> {
        Cursor {
            // SAFETY: the TU is live for 'tu.
            x: unsafe { clang_getCursor(self.tu, clang_getDiagnosticLocation(self.x)) },
            tu: self.tu,
            _tu: PhantomData,
        }
    }

    /// Where it points.
    pub(crate) fn location(&self) -> Location {
        // SAFETY: `self.x` and its TU are live.
        unsafe { location_of(clang_getDiagnosticLocation(self.x)) }
    }

    /// The identifier the diagnostic points at, if it points at one (the
    /// name an "undeclared" diagnostic is about).
    pub(crate) fn identifier(&self) -> Option<String> {
        // SAFETY: the TU is live for 'tu; the one token is disposed before returning.
        unsafe { token_at(self.tu, clang_getDiagnosticLocation(self.x), true) }
    }
}

impl Drop for Diagnostic<'_> {
    fn drop(&mut self) {
        // SAFETY: `x` came from clang_getDiagnostic and is disposed once.
        unsafe { clang_disposeDiagnostic(self.x) }
    }
}

/// What a visitor wants next.
pub(crate) enum Walk {
    /// Visit the next sibling, not the children.
    Continue,
    /// Visit the children of this cursor.
    Recurse,
}

/// The kinds of cursor the resolver cares about; everything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    FunctionDecl,
    VarDecl,
    FieldDecl,
    StructDecl,
    DeclRefExpr,
    MacroDefinition,
    MacroExpansion,
    InclusionDirective,
    IfStmt,
    ConditionalOperator,
    Other(i32),
}

/// How a declaration links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Linkage {
    None,
    Internal,
    External,
    Other,
}

/// A node of a TU's AST or preprocessing record, valid while its TU lives
/// (`'tu`).
#[derive(Clone, Copy)]
pub(crate) struct Cursor<'tu> {
    x: CXCursor,
    tu: CXTranslationUnit,
    _tu: PhantomData<&'tu TranslationUnit<'tu>>,
}

impl<'tu> Cursor<'tu> {
    fn wrap(&self, x: CXCursor) -> Option<Cursor<'tu>> {
        // SAFETY: plain query on a cursor value.
        if unsafe { clang_Cursor_isNull(x) } != 0 {
            None
        } else {
            Some(Cursor {
                x,
                tu: self.tu,
                _tu: PhantomData,
            })
        }
    }

    /// This cursor's kind.
    pub(crate) fn kind(&self) -> Kind {
        // SAFETY: plain query on a cursor value.
        match unsafe { clang_getCursorKind(self.x) } {
            CXCursor_FunctionDecl => Kind::FunctionDecl,
            CXCursor_VarDecl => Kind::VarDecl,
            CXCursor_FieldDecl => Kind::FieldDecl,
            CXCursor_StructDecl => Kind::StructDecl,
            CXCursor_DeclRefExpr => Kind::DeclRefExpr,
            CXCursor_MacroDefinition => Kind::MacroDefinition,
            CXCursor_MacroExpansion => Kind::MacroExpansion,
            CXCursor_InclusionDirective => Kind::InclusionDirective,
            CXCursor_IfStmt => Kind::IfStmt,
            CXCursor_ConditionalOperator => Kind::ConditionalOperator,
            k => Kind::Other(k),
        }
    }

    /// The spelling of the token at the cursor's location: an attribute's
    /// name (`weak`, `__constructor__`), also where the attribute is written
    /// through a macro.
    pub(crate) fn name_token(&self) -> Option<String> {
        // SAFETY: the TU is live for 'tu; the one token is disposed before returning.
        unsafe { token_at(self.tu, clang_getCursorLocation(self.x), false) }
    }

    /// Whether the cursor is an attribute (of its parent declaration).
    pub(crate) fn is_attribute(&self) -> bool {
        // SAFETY: plain query on a cursor value.
        unsafe { clang_isAttribute(clang_getCursorKind(self.x)) != 0 }
    }

    /// The name of the entity (for an `#include`, the file name as written).
    pub(crate) fn spelling(&self) -> String {
        // SAFETY: the returned CXString is disposed by `take`.
        unsafe { take(clang_getCursorSpelling(self.x)) }
    }

    /// Where the entity is spelled.
    pub(crate) fn location(&self) -> Location {
        // SAFETY: the TU is live for 'tu.
        unsafe { location_of(clang_getCursorLocation(self.x)) }
    }

    /// The spellings of the tokens in the cursor's extent (e.g. a macro
    /// expansion's name and arguments, an attribute's name and arguments).
    pub(crate) fn tokens(&self) -> Vec<String> {
        // SAFETY: the TU is live for 'tu and the extent is one of its ranges.
        unsafe { tokens_in(self.tu, clang_getCursorExtent(self.x)) }
    }

    /// Whether this cursor defines (not merely declares) its entity.
    pub(crate) fn is_definition(&self) -> bool {
        // SAFETY: plain query.
        unsafe { clang_isCursorDefinition(self.x) != 0 }
    }

    /// Whether the cursor's extent starts where its name is: true of
    /// declarations clang made up (builtins, implicit function declarations),
    /// whose only "source" is the name at a use; a written declaration starts
    /// with its type or storage class before the name.
    pub(crate) fn starts_at_its_name(&self) -> bool {
        // SAFETY: plain queries on live cursor data.
        let start = unsafe { location_of(clang_getRangeStart(clang_getCursorExtent(self.x))) };
        start == self.location()
    }

    /// Whether the declaration is spelled `extern`.
    pub(crate) fn is_extern(&self) -> bool {
        // SAFETY: plain query.
        unsafe { clang_Cursor_getStorageClass(self.x) == CX_SC_Extern }
    }

    /// The linkage of a declaration.
    pub(crate) fn linkage(&self) -> Linkage {
        // SAFETY: plain query.
        match unsafe { clang_getCursorLinkage(self.x) } {
            CXLinkage_NoLinkage => Linkage::None,
            CXLinkage_Internal => Linkage::Internal,
            CXLinkage_External | CXLinkage_UniqueExternal => Linkage::External,
            _ => Linkage::Other,
        }
    }

    /// The entity a reference or expansion refers to.
    pub(crate) fn referenced(&self) -> Option<Cursor<'tu>> {
        // SAFETY: plain query.
        self.wrap(unsafe { clang_getCursorReferenced(self.x) })
    }

    /// The definition of the entity, if this TU has one.
    pub(crate) fn definition(&self) -> Option<Cursor<'tu>> {
        // SAFETY: plain query.
        self.wrap(unsafe { clang_getCursorDefinition(self.x) })
    }

    /// The file an `#include` directive included; `None` when the
    /// preprocessor found none (the header is missing).
    pub(crate) fn included_file(&self) -> Option<PathBuf> {
        // SAFETY: plain query; the file handle is read at once.
        unsafe {
            let f = clang_getIncludedFile(self.x);
            (!f.is_null()).then(|| file_name(f))
        }
    }

    /// Whether a macro definition is built into the compiler (`__GNUC__`...).
    pub(crate) fn is_macro_builtin(&self) -> bool {
        // SAFETY: plain query.
        unsafe { clang_Cursor_isMacroBuiltin(self.x) != 0 }
    }

    /// The value of a constant integer expression, if it is one.
    pub(crate) fn evaluate_int(&self) -> Option<i64> {
        // SAFETY: the result is disposed before returning.
        unsafe {
            let r = clang_Cursor_Evaluate(self.x);
            if r.is_null() {
                return None;
            }
            let v = (clang_EvalResult_getKind(r) == CXEval_Int)
                .then(|| clang_EvalResult_getAsLongLong(r));
            clang_EvalResult_dispose(r);
            v
        }
    }

    /// The direct children, in order.
    pub(crate) fn children(&self) -> Vec<Cursor<'tu>> {
        let mut out = Vec::new();
        self.visit(|c, _| {
            out.push(c);
            Walk::Continue
        });
        out
    }

    /// Walks the children; `f(child, parent)` decides whether to recurse.
    pub(crate) fn visit<F: FnMut(Cursor<'tu>, Cursor<'tu>) -> Walk>(&self, mut f: F) {
        extern "C" fn trampoline<'tu, F: FnMut(Cursor<'tu>, Cursor<'tu>) -> Walk>(
            child: CXCursor,
            parent: CXCursor,
            data: CXClientData,
        ) -> CXChildVisitResult {
            // SAFETY: `data` is the `(&mut F, tu)` pair passed below, live for the walk.
            let (f, tu) = unsafe { &mut *(data as *mut (&mut F, CXTranslationUnit)) };
            let tu = *tu;
            let wrap = |x| Cursor {
                x,
                tu,
                _tu: PhantomData,
            };
            match f(wrap(child), wrap(parent)) {
                Walk::Continue => CXChildVisit_Continue,
                Walk::Recurse => CXChildVisit_Recurse,
            }
        }
        let mut data: (&mut F, CXTranslationUnit) = (&mut f, self.tu);
        // SAFETY: the trampoline only uses `data`, which outlives the call.
        unsafe {
            clang_visitChildren(
                self.x,
                trampoline::<'tu, F>,
                &mut data as *mut (&mut F, CXTranslationUnit) as *mut c_void,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every libclang function called in this file is checked at load time
    /// (else a library without it panics at the call).
    #[test]
    fn every_function_called_is_required_at_load() {
        let text = include_str!("clang.rs");
        let re = regex::Regex::new(r"\b(clang_[A-Za-z0-9_]+)\(").unwrap();
        let called: std::collections::BTreeSet<&str> = re
            .captures_iter(text)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        let required: std::collections::BTreeSet<&str> = REQUIRED.iter().copied().collect();
        let unchecked: Vec<&&str> = called.difference(&required).collect();
        assert!(
            unchecked.is_empty(),
            "add to required_functions!: {unchecked:?}"
        );
    }
}
