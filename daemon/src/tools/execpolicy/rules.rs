//! The rule file parser.
//!
//! A rule file is a list of calls like
//! `prefix_rule(pattern=["git", "push"], decision="forbidden", justification="…")`.
//! The syntax borrows Starlark's look (so editors highlight it) but is deliberately tiny:
//! one function, keyword arguments, strings and one level of nested lists. Everything else is
//! an error naming the file, line and column, because a rule the user believes is in force but
//! that we silently skipped is worse than a daemon that refuses to start.

use super::matcher::{PatternToken, Rule};
use super::{Decision, PolicyError};

/// Parses every rule in `text`; `source_name` names the file in errors and rule sources.
pub(crate) fn parse_rules(source_name: &str, text: &str) -> Result<Vec<Rule>, PolicyError> {
    let tokens = Lexer::new(source_name, text).tokenize()?;
    let mut parser = Parser {
        source_name,
        tokens,
        pos: 0,
    };
    let mut rules = Vec::new();
    while parser.peek().kind != Kind::Eof {
        rules.push(parser.rule()?);
    }
    Ok(rules)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Equals,
    Eof,
}

impl Kind {
    /// How a token is named in "expected …, got …" messages.
    fn describe(&self) -> String {
        match self {
            Kind::Ident(name) => format!("`{name}`"),
            Kind::Str(text) => format!("{text:?}"),
            Kind::LParen => "`(`".into(),
            Kind::RParen => "`)`".into(),
            Kind::LBracket => "`[`".into(),
            Kind::RBracket => "`]`".into(),
            Kind::Comma => "`,`".into(),
            Kind::Equals => "`=`".into(),
            Kind::Eof => "end of file".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    line: usize,
    column: usize,
}

fn syntax_error(source_name: &str, line: usize, column: usize, message: String) -> PolicyError {
    PolicyError::Syntax {
        source_name: source_name.to_string(),
        line,
        column,
        message,
    }
}

struct Lexer<'a> {
    source_name: &'a str,
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl<'a> Lexer<'a> {
    fn new(source_name: &'a str, text: &'a str) -> Self {
        Self {
            source_name,
            chars: text.chars().peekable(),
            line: 1,
            column: 1,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn tokenize(mut self) -> Result<Vec<Token>, PolicyError> {
        let mut tokens = Vec::new();
        loop {
            let (line, column) = (self.line, self.column);
            let Some(c) = self.bump() else {
                tokens.push(Token {
                    kind: Kind::Eof,
                    line,
                    column,
                });
                return Ok(tokens);
            };
            let kind = match c {
                c if c.is_whitespace() => continue,
                '#' => {
                    while self.chars.peek().is_some_and(|&c| c != '\n') {
                        self.bump();
                    }
                    continue;
                }
                '(' => Kind::LParen,
                ')' => Kind::RParen,
                '[' => Kind::LBracket,
                ']' => Kind::RBracket,
                ',' => Kind::Comma,
                '=' => Kind::Equals,
                '"' | '\'' => Kind::Str(self.string(c, line, column)?),
                c if c.is_ascii_alphabetic() || c == '_' => {
                    let mut name = String::from(c);
                    while let Some(&c) = self.chars.peek() {
                        if !(c.is_ascii_alphanumeric() || c == '_') {
                            break;
                        }
                        name.push(c);
                        self.bump();
                    }
                    Kind::Ident(name)
                }
                other => {
                    let message = format!("unexpected character {other:?}");
                    return Err(syntax_error(self.source_name, line, column, message));
                }
            };
            tokens.push(Token { kind, line, column });
        }
    }

    /// The rest of a string opened by `quote` at `line:column`. Strings end on their line:
    /// a missing quote is reported where the string began, not at the end of the file.
    fn string(&mut self, quote: char, line: usize, column: usize) -> Result<String, PolicyError> {
        let mut text = String::new();
        loop {
            let escape_column = self.column;
            match self.bump() {
                None | Some('\n') => {
                    let message = "unterminated string".to_string();
                    return Err(syntax_error(self.source_name, line, column, message));
                }
                Some(c) if c == quote => return Ok(text),
                Some('\\') => match self.bump() {
                    Some('\\') => text.push('\\'),
                    Some('"') => text.push('"'),
                    Some('\'') => text.push('\''),
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    other => {
                        let shown =
                            other.map_or_else(|| "end of file".into(), |c| format!("{c:?}"));
                        let message = format!("unknown escape `\\` followed by {shown} in string");
                        return Err(syntax_error(self.source_name, line, escape_column, message));
                    }
                },
                Some(c) => text.push(c),
            }
        }
    }
}

struct Parser<'a> {
    source_name: &'a str,
    /// Always ends with an `Eof` token, which `next` never steps past.
    tokens: Vec<Token>,
    pos: usize,
}

/// What a `prefix_rule` call was given, before checking that it is complete.
#[derive(Default)]
struct Args {
    pattern: Option<Vec<PatternToken>>,
    decision: Option<Decision>,
    justification: Option<String>,
}

/// A parsed argument value: a string or a (possibly nested) list.
enum Value {
    Str(String),
    List(Vec<(Value, Token)>),
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != Kind::Eof {
            self.pos += 1;
        }
        token
    }

    fn error_at(&self, token: &Token, message: impl Into<String>) -> PolicyError {
        syntax_error(self.source_name, token.line, token.column, message.into())
    }

    fn expect_token(&mut self, kind: Kind, context: &str) -> Result<Token, PolicyError> {
        let token = self.next();
        if token.kind == kind {
            return Ok(token);
        }
        let message = format!(
            "expected {} {context}, got {}",
            kind.describe(),
            token.kind.describe()
        );
        Err(self.error_at(&token, message))
    }

    /// After an item: consumes a `,`, or accepts (without consuming) the `close` token.
    fn comma_unless(&mut self, close: Kind, context: &str) -> Result<(), PolicyError> {
        match &self.peek().kind {
            Kind::Comma => {
                self.next();
                Ok(())
            }
            kind if *kind == close => Ok(()),
            _ => {
                let token = self.next();
                let message = format!(
                    "expected `,` or {} {context}, got {}",
                    close.describe(),
                    token.kind.describe()
                );
                Err(self.error_at(&token, message))
            }
        }
    }

    /// `prefix_rule ( kwarg (, kwarg)* ,? )`
    fn rule(&mut self) -> Result<Rule, PolicyError> {
        let start = self.next();
        let Kind::Ident(name) = &start.kind else {
            let message = format!(
                "expected a rule like `prefix_rule(pattern=[...], decision=\"...\")`, got {}",
                start.kind.describe()
            );
            return Err(self.error_at(&start, message));
        };
        if self.peek().kind != Kind::LParen {
            let message = format!(
                "expected a rule like `prefix_rule(pattern=[...], decision=\"...\")`, got `{name}` followed by {}",
                self.peek().kind.describe()
            );
            return Err(self.error_at(&start, message));
        }
        if name != "prefix_rule" {
            let message = format!("unknown function `{name}` (the only one is `prefix_rule`)");
            return Err(self.error_at(&start, message));
        }
        self.next();

        let mut args = Args::default();
        loop {
            if self.peek().kind == Kind::RParen {
                self.next();
                break;
            }
            self.keyword_arg(&mut args)?;
            self.comma_unless(Kind::RParen, "in prefix_rule")?;
        }

        let missing =
            |what: &str| self.error_at(&start, format!("prefix_rule is missing `{what}`"));
        Ok(Rule {
            pattern: args.pattern.ok_or_else(|| missing("pattern"))?,
            decision: args.decision.ok_or_else(|| missing("decision"))?,
            justification: args.justification,
            source: format!("{}:{}", self.source_name, start.line),
        })
    }

    /// `name = value`, stored into `args` after checking the value's shape.
    fn keyword_arg(&mut self, args: &mut Args) -> Result<(), PolicyError> {
        let key = self.next();
        let Kind::Ident(name) = &key.kind else {
            let message = format!(
                "expected a keyword argument like `pattern=[...]`, got {}",
                key.kind.describe()
            );
            return Err(self.error_at(&key, message));
        };
        let already = match name.as_str() {
            "pattern" => args.pattern.is_some(),
            "decision" => args.decision.is_some(),
            "justification" => args.justification.is_some(),
            _ => {
                let message = format!(
                    "unknown keyword `{name}` in prefix_rule (expected `pattern`, `decision` or `justification`)"
                );
                return Err(self.error_at(&key, message));
            }
        };
        if already {
            return Err(self.error_at(&key, format!("`{name}` is given twice")));
        }
        self.expect_token(Kind::Equals, &format!("after `{name}`"))?;
        let value_token = self.peek().clone();
        let value = self.value()?;
        match name.as_str() {
            "pattern" => args.pattern = Some(self.pattern(value, &value_token)?),
            "decision" => args.decision = Some(self.decision(value, &value_token)?),
            _ => match value {
                Value::Str(text) => args.justification = Some(text),
                Value::List(_) => {
                    return Err(self.error_at(
                        &value_token,
                        "expected `justification` to be a string, got a list",
                    ));
                }
            },
        }
        Ok(())
    }

    /// A string, or `[ value (, value)* ,? ]`.
    fn value(&mut self) -> Result<Value, PolicyError> {
        let token = self.next();
        match token.kind {
            Kind::Str(text) => Ok(Value::Str(text)),
            Kind::LBracket => {
                let mut items = Vec::new();
                loop {
                    if self.peek().kind == Kind::RBracket {
                        self.next();
                        return Ok(Value::List(items));
                    }
                    let item_token = self.peek().clone();
                    items.push((self.value()?, item_token));
                    self.comma_unless(Kind::RBracket, "in list")?;
                }
            }
            _ => {
                let hint = match &token.kind {
                    Kind::Ident(_) => " (strings need quotes)",
                    _ => "",
                };
                let message = format!(
                    "expected a string or a list, got {}{hint}",
                    token.kind.describe()
                );
                Err(self.error_at(&token, message))
            }
        }
    }

    /// A non-empty list whose items are strings or non-empty lists of strings.
    fn pattern(&self, value: Value, token: &Token) -> Result<Vec<PatternToken>, PolicyError> {
        let Value::List(items) = value else {
            return Err(self.error_at(
                token,
                "expected `pattern` to be a list like [\"git\", \"push\"]",
            ));
        };
        if items.is_empty() {
            // An empty prefix would match every command, which is never what a user means.
            return Err(self.error_at(token, "`pattern` must not be empty"));
        }
        let mut pattern = Vec::with_capacity(items.len());
        for (item, item_token) in items {
            pattern.push(match item {
                Value::Str(text) => PatternToken::Exact(text),
                Value::List(alternatives) if alternatives.is_empty() => {
                    return Err(self.error_at(
                        &item_token,
                        "a list of alternatives in `pattern` must not be empty",
                    ));
                }
                Value::List(alternatives) => {
                    let mut words = Vec::with_capacity(alternatives.len());
                    for (alternative, alt_token) in alternatives {
                        let Value::Str(word) = alternative else {
                            return Err(self.error_at(
                                &alt_token,
                                "alternatives in `pattern` must be strings, not lists",
                            ));
                        };
                        words.push(word);
                    }
                    PatternToken::AnyOf(words)
                }
            });
        }
        Ok(pattern)
    }

    fn decision(&self, value: Value, token: &Token) -> Result<Decision, PolicyError> {
        let got = match value {
            Value::Str(text) => match text.as_str() {
                "allow" => return Ok(Decision::Allow),
                "prompt" => return Ok(Decision::Prompt),
                "forbidden" => return Ok(Decision::Forbidden),
                _ => format!("{text:?}"),
            },
            Value::List(_) => "a list".to_string(),
        };
        let message = format!(
            "expected `decision` to be one of \"allow\", \"prompt\", \"forbidden\", got {got}"
        );
        Err(self.error_at(token, message))
    }
}
