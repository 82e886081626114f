use resolver::clang::*;
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let idx = Index::new().unwrap();
    let tu = idx
        .parse(std::path::Path::new(&args[0]), &args[1..])
        .unwrap();
    fn walk(tu: &TranslationUnit, c: Cursor, d: usize, stack: &mut Vec<(Cursor, Option<i64>)>) {
        for k in c.children() {
            if k.kind() == Kind::DeclRefExpr {
                if let Some(r) = k.referenced() {
                    let n = r.spelling();
                    if n.starts_with("__atomic_link")
                        || n.starts_with("__sync")
                        || n.starts_with("__builtin_ex")
                    {
                        println!(
                            "{n} at {:?}; decl tokens {:?}; enclosing ifs {:?}",
                            k.location(),
                            tu.tokens(&r),
                            stack
                                .iter()
                                .map(|(c, v)| (c.location().line, *v))
                                .collect::<Vec<_>>()
                        );
                    }
                }
            }
            let pushed = if k.kind() == Kind::IfStmt {
                let v = k.children().first().and_then(|x| x.evaluate_int());
                stack.push((k, v));
                true
            } else {
                false
            };
            walk(tu, k, d + 1, stack);
            if pushed {
                stack.pop();
            }
        }
    }
    walk(&tu, tu.cursor(), 0, &mut Vec::new());
}
