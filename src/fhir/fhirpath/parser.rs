//! Recursive-descent parser from tokens to [`Expr`], following the FHIRPath operator
//! precedence table (N1, section 6.7).

use super::ast::{BinaryOp, Expr, Function, Literal, TypeOp, TypeSpec, UnaryOp};
use super::error::ParseError;
use super::lexer::{tokenize, Token, TokenKind};

/// Guards the parser's and evaluator's recursion against hostile input such as ten thousand
/// opening parentheses: nesting depth, and token count (which bounds path-chain length).
const MAX_DEPTH: usize = 40;
const MAX_TOKENS: usize = 1000;

/// Parses a complete expression.
pub(crate) fn parse(src: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(src)?;
    if tokens.len() > MAX_TOKENS {
        return Err(ParseError::TooLong { max: MAX_TOKENS });
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.expression()?;
    match parser.peek() {
        TokenKind::Eof => Ok(expr),
        _ => Err(parser.expected("end of expression")),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// Binary operator levels, loosest first; `is`/`as` are handled at their own level.
const LEVELS: &[&[(&str, BinaryOp)]] = &[
    &[("implies", BinaryOp::Implies)],
    &[("or", BinaryOp::Or), ("xor", BinaryOp::Xor)],
    &[("and", BinaryOp::And)],
    &[("in", BinaryOp::In), ("contains", BinaryOp::Contains)],
    &[
        ("=", BinaryOp::Eq),
        ("~", BinaryOp::Equiv),
        ("!=", BinaryOp::Ne),
        ("!~", BinaryOp::NotEquiv),
    ],
    &[
        ("<=", BinaryOp::Le),
        (">=", BinaryOp::Ge),
        ("<", BinaryOp::Lt),
        (">", BinaryOp::Gt),
    ],
    &[("|", BinaryOp::Union)],
];
const ADDITIVE: &[(&str, BinaryOp)] = &[
    ("+", BinaryOp::Add),
    ("-", BinaryOp::Sub),
    ("&", BinaryOp::Concat),
];
const MULTIPLICATIVE: &[(&str, BinaryOp)] = &[
    ("*", BinaryOp::Mul),
    ("/", BinaryOp::Div),
    ("div", BinaryOp::IntDiv),
    ("mod", BinaryOp::Mod),
];

impl Parser {
    fn peek(&self) -> &TokenKind {
        self.tokens
            .get(self.pos)
            .map_or(&TokenKind::Eof, |t| &t.kind)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(0, |t| t.offset)
    }

    fn advance(&mut self) -> TokenKind {
        let kind = self.peek().clone();
        self.pos += 1;
        kind
    }

    fn expected(&self, expected: &'static str) -> ParseError {
        ParseError::Expected {
            expected,
            offset: self.offset(),
        }
    }

    fn eat_symbol(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), TokenKind::Symbol(s) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_symbol(&mut self, sym: &'static str, what: &'static str) -> Result<(), ParseError> {
        if self.eat_symbol(sym) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// Matches the next token against an operator table (symbols and keyword operators).
    fn match_op(&mut self, table: &[(&str, BinaryOp)]) -> Option<BinaryOp> {
        let found = match self.peek() {
            TokenKind::Symbol(s) => table.iter().find(|(t, _)| t == s),
            TokenKind::Ident(s) => table.iter().find(|(t, _)| t == s),
            _ => None,
        };
        let op = found.map(|(_, op)| *op)?;
        self.pos += 1;
        Some(op)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::TooDeep { max: MAX_DEPTH });
        }
        Ok(())
    }

    fn expression(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let expr = self.level(0);
        self.depth -= 1;
        expr
    }

    fn level(&mut self, n: usize) -> Result<Expr, ParseError> {
        let Some(table) = LEVELS.get(n) else {
            return self.type_level();
        };
        let mut left = self.level(n + 1)?;
        while let Some(op) = self.match_op(table) {
            let right = self.level(n + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn type_level(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.additive()?;
        loop {
            let op = match self.peek() {
                TokenKind::Ident(s) if s == "is" => TypeOp::Is,
                TokenKind::Ident(s) if s == "as" => TypeOp::As,
                _ => return Ok(left),
            };
            self.pos += 1;
            let spec = self.type_spec()?;
            left = Expr::Type {
                op,
                expr: Box::new(left),
                spec,
            };
        }
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.multiplicative()?;
        while let Some(op) = self.match_op(ADDITIVE) {
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while let Some(op) = self.match_op(MULTIPLICATIVE) {
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_symbol("-") {
            self.enter()?;
            let inner = self.unary();
            self.depth -= 1;
            return Ok(Expr::Unary(UnaryOp::Minus, Box::new(inner?)));
        }
        if self.eat_symbol("+") {
            self.enter()?;
            let inner = self.unary();
            self.depth -= 1;
            return Ok(Expr::Unary(UnaryOp::Plus, Box::new(inner?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.term()?;
        loop {
            if self.eat_symbol(".") {
                let offset = self.offset();
                let TokenKind::Ident(name) = self.advance() else {
                    return Err(ParseError::Expected {
                        expected: "identifier after '.'",
                        offset,
                    });
                };
                expr = self.invocation(Some(expr), name, offset)?;
            } else if self.eat_symbol("[") {
                let index = self.expression()?;
                self.expect_symbol("]", "']'")?;
                expr = Expr::Indexer(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let offset = self.offset();
        match self.advance() {
            TokenKind::Str(s) => Ok(Expr::Literal(Literal::String(s))),
            TokenKind::Int(i) => Ok(Expr::Literal(Literal::Integer(i))),
            TokenKind::Decimal(d) => d
                .parse()
                .map(|v| Expr::Literal(Literal::Decimal(v)))
                .map_err(|_| ParseError::BadNumber { offset }),
            TokenKind::DateTime(d) => Ok(Expr::Literal(Literal::DateTime(d))),
            TokenKind::Constant(c) => Ok(Expr::Constant(c)),
            TokenKind::Special(s) => match s.as_str() {
                "this" => Ok(Expr::This),
                "index" => Ok(Expr::IndexVar),
                "total" => Ok(Expr::Total),
                _ => Err(ParseError::Expected {
                    expected: "$this, $index or $total",
                    offset,
                }),
            },
            TokenKind::Symbol("(") => {
                let inner = self.expression()?;
                self.expect_symbol(")", "')'")?;
                Ok(inner)
            }
            TokenKind::Symbol("{") => {
                self.expect_symbol("}", "'}'")?;
                Ok(Expr::Empty)
            }
            TokenKind::Ident(name) => match name.as_str() {
                "true" => Ok(Expr::Literal(Literal::Boolean(true))),
                "false" => Ok(Expr::Literal(Literal::Boolean(false))),
                _ => self.invocation(None, name, offset),
            },
            _ => Err(ParseError::Expected {
                expected: "a term",
                offset,
            }),
        }
    }

    /// A member access or a function call, on `target` or on the current context.
    fn invocation(
        &mut self,
        target: Option<Expr>,
        name: String,
        offset: usize,
    ) -> Result<Expr, ParseError> {
        if !self.eat_symbol("(") {
            if target.is_none() && name.starts_with(|c: char| c.is_ascii_uppercase()) {
                return Ok(Expr::TypeName(name));
            }
            return Ok(Expr::Member {
                target: target.map(Box::new),
                name,
            });
        }
        let target = target.map(Box::new);
        // Type functions take a type specifier, not an expression.
        let type_op = match name.as_str() {
            "ofType" => Some(TypeOp::OfType),
            "as" => Some(TypeOp::As),
            "is" => Some(TypeOp::Is),
            _ => None,
        };
        if let Some(op) = type_op {
            let spec = self.type_spec()?;
            self.expect_symbol(")", "')'")?;
            let expr = target.unwrap_or(Box::new(Expr::This));
            return Ok(Expr::Type { op, expr, spec });
        }
        let Some((function, min, max)) = Function::lookup(&name) else {
            return Err(ParseError::UnsupportedFunction { name, offset });
        };
        let mut args = Vec::new();
        if !self.eat_symbol(")") {
            loop {
                args.push(self.expression()?);
                if self.eat_symbol(")") {
                    break;
                }
                self.expect_symbol(",", "',' or ')'")?;
            }
        }
        if args.len() < min || args.len() > max {
            return Err(ParseError::Arity {
                name,
                min,
                max,
                found: args.len(),
            });
        }
        Ok(Expr::Call {
            target,
            function,
            args,
        })
    }

    fn type_spec(&mut self) -> Result<TypeSpec, ParseError> {
        let TokenKind::Ident(first) = self.advance() else {
            return Err(self.expected("a type name"));
        };
        if self.eat_symbol(".") {
            let TokenKind::Ident(name) = self.advance() else {
                return Err(self.expected("a type name after the namespace"));
            };
            return Ok(TypeSpec {
                namespace: Some(first),
                name,
            });
        }
        Ok(TypeSpec {
            namespace: None,
            name: first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(target: Expr, name: &str) -> Expr {
        Expr::Member {
            target: Some(Box::new(target)),
            name: name.into(),
        }
    }

    #[test]
    fn parses_path_union_and_where() {
        let e = parse("Observation.code | Account.subject.where(resolve() is Patient)").unwrap();
        let Expr::Binary(BinaryOp::Union, left, right) = e else {
            panic!("expected a union");
        };
        assert_eq!(*left, member(Expr::TypeName("Observation".into()), "code"));
        let Expr::Call {
            function: Function::Where,
            args,
            ..
        } = *right
        else {
            panic!("expected where()");
        };
        assert!(matches!(
            &args[0],
            Expr::Type { op: TypeOp::Is, spec, .. } if spec.name == "Patient"
        ));
    }

    #[test]
    fn binds_as_tighter_than_union_and_and_looser_than_equality() {
        let e = parse("a.b as Quantity | c").unwrap();
        assert!(matches!(e, Expr::Binary(BinaryOp::Union, ..)));
        let e = parse("a.exists() and a != false").unwrap();
        let Expr::Binary(BinaryOp::And, _, right) = e else {
            panic!("expected and");
        };
        assert!(matches!(*right, Expr::Binary(BinaryOp::Ne, ..)));
    }

    #[test]
    fn parses_type_functions_and_indexers() {
        let e = parse("Bundle.entry[0].resource.value.ofType(FHIR.Quantity)").unwrap();
        let Expr::Type { op, spec, .. } = e else {
            panic!("expected ofType");
        };
        assert_eq!(op, TypeOp::OfType);
        assert_eq!(spec.namespace.as_deref(), Some("FHIR"));
        assert_eq!(spec.name, "Quantity");
    }

    #[test]
    fn rejects_unknown_functions_and_bad_arity() {
        assert!(matches!(
            parse("a.frobnicate()"),
            Err(ParseError::UnsupportedFunction { .. })
        ));
        assert!(matches!(parse("a.where()"), Err(ParseError::Arity { .. })));
        assert!(matches!(parse("a.b)"), Err(ParseError::Expected { .. })));
    }

    #[test]
    fn limits_nesting_depth() {
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(matches!(parse(&deep), Err(ParseError::TooDeep { .. })));
        let long = vec!["a"; 2000].join(".");
        assert!(matches!(parse(&long), Err(ParseError::TooLong { .. })));
        // The longest accepted chain still evaluates without exhausting the stack.
        let chain = vec!["a"; 499].join(".");
        let expr = super::super::Expression::parse(&chain).unwrap();
        let engine = super::super::Engine::r4().unwrap();
        let v = serde_json::json!({"resourceType": "Basic"});
        assert!(engine.evaluate(&expr, &v).unwrap().is_empty());
    }
}
