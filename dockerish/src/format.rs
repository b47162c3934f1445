//! `--format`: `table` (the default), `json`, or a Go-style template as
//! Docker's listings take them: `{{.Names}}`, `{{json .Config}}`, and
//! `table {{.ID}}\t{{.Names}}` for aligned columns under a header.
//!
//! Only the forms people type are understood: fields (`{{.A.B}}`) and
//! `{{json .A}}`; `\t` and `\n` in a template are a tab and a newline,
//! as in Docker's CLI. A field a row lacks is an error that names it.

use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::{Error, Result, ToolError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    /// A template for each row; `table`: aligned, under a header.
    Template {
        template: String,
        table: bool,
    },
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        let format = match s.trim() {
            "table" | "" => Format::Table,
            "json" => Format::Json,
            text => {
                let (template, table) = match text.strip_prefix("table ") {
                    Some(rest) => (rest.trim(), true),
                    None => (text, false),
                };
                let template = template.replace("\\t", "\t").replace("\\n", "\n");
                // Checked once against nothing, so a broken template is an
                // error even for an empty listing.
                check(&template)?;
                Format::Template { template, table }
            }
        };
        Ok(format)
    }
}

impl Format {
    /// What imgtool is asked for (it knows table and json).
    pub fn name(&self) -> &'static str {
        match self {
            Format::Json => "json",
            _ => "table",
        }
    }
}

/// Prints `rows` by `template`; with `table`, in columns (the tabs of the
/// template) under a header made from the field names, Docker's own for
/// those in `headers` (`("ID", "CONTAINER ID")`), else the name in capitals.
pub fn print_template(
    template: &str,
    table: bool,
    rows: &[Value],
    headers: &[(&str, &str)],
) -> Result<()> {
    let lines = rows.iter().map(|row| render(template, row)).collect::<Result<Vec<_>>>()?;
    if !table {
        lines.iter().for_each(|l| println!("{l}"));
        return Ok(());
    }
    let header = header_row(template, headers);
    let mut cells: Vec<Vec<String>> = vec![header.split('\t').map(String::from).collect()];
    cells.extend(lines.iter().map(|l| l.split('\t').map(String::from).collect()));
    print!("{}", tool_cli::human::table(&cells));
    Ok(())
}

/// The template with each `{{… .Field}}` replaced by its header.
fn header_row(template: &str, headers: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let close = rest[open..].find("}}").map_or(rest.len(), |c| c + open);
        let action = rest[open + 2..close].trim();
        let field = action.rsplit(['.', ' ']).next().unwrap_or_default();
        match headers.iter().find(|(name, _)| *name == field) {
            Some((_, header)) => out.push_str(header),
            None => out.push_str(&field.to_uppercase()),
        }
        rest = rest.get(close + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// Refuses a template that is not made of the forms [`render`] knows.
fn check(template: &str) -> Result<()> {
    each_action(template, |_, _| Ok(()))
}

/// Fills each `{{.A.B}}` / `{{json .A.B}}` of `template` from `value`:
/// strings as they are, anything else as JSON (`json` always as JSON).
pub fn render(template: &str, value: &Value) -> Result<String> {
    let mut fields = Vec::new();
    each_action(template, |as_json, path| {
        let mut field = value;
        for key in path {
            field = field
                .get(key)
                .ok_or_else(|| Error::invalid("format", template, format!("no field {key:?}")))?;
        }
        fields.push(match field {
            Value::String(s) if !as_json => s.clone(),
            other => other.to_string(),
        });
        Ok(())
    })?;
    // The text between the actions, with the fields in their places.
    let mut out = String::new();
    let mut rest = template;
    for field in fields {
        let open = rest.find("{{").expect("each_action found it");
        let close = rest[open..].find("}}").expect("each_action found it") + open;
        out.push_str(&rest[..open]);
        out.push_str(&field);
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Calls `f(as_json, path)` for each action of `template`, in order.
fn each_action(template: &str, mut f: impl FnMut(bool, Vec<&str>) -> Result<()>) -> Result<()> {
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let close = rest[open..]
            .find("}}")
            .ok_or_else(|| Error::invalid("format", template, "a {{ without }}"))?
            + open;
        let action = rest[open + 2..close].trim();
        let (as_json, path) = match action.strip_prefix("json ") {
            Some(path) => (true, path.trim()),
            None => (false, action),
        };
        let path = path.strip_prefix('.').ok_or_else(|| {
            Error::invalid("format", template, "expected {{.Field}} or {{json .Field}}")
        })?;
        f(as_json, path.split('.').filter(|k| !k.is_empty()).collect())?;
        rest = &rest[close + 2..];
    }
    Ok(())
}

/// A row as a JSON object (for listings that build rows as structs).
pub fn row(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Object(Map::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_pick_fields() {
        let v = json!({"State": {"Pid": 42, "Status": "running"}, "Config": {"Cmd": ["sh", "-c"]}});
        assert_eq!(render("{{.State.Pid}}", &v).unwrap(), "42");
        assert_eq!(
            render("{{ .State.Status }}/{{json .Config.Cmd}}", &v).unwrap(),
            "running/[\"sh\",\"-c\"]"
        );
        assert_eq!(render("{{json .State.Status}}", &v).unwrap(), "\"running\"");
        assert!(render("{{.Nope}}", &v).is_err());
        assert!(render("{{.State.Pid", &v).is_err());
    }

    #[test]
    fn formats_parse_as_dockers() {
        assert_eq!("table".parse::<Format>().unwrap(), Format::Table);
        assert_eq!("json".parse::<Format>().unwrap(), Format::Json);
        assert_eq!(
            r"table {{.ID}}\t{{.Names}}".parse::<Format>().unwrap(),
            Format::Template { template: "{{.ID}}\t{{.Names}}".into(), table: true }
        );
        assert!("{{Names}}".parse::<Format>().is_err());
        assert!("{{.Names".parse::<Format>().is_err());
        assert_eq!(
            header_row("{{.ID}}\t{{.RunningFor}}", &[("ID", "CONTAINER ID")]),
            "CONTAINER ID\tRUNNINGFOR"
        );
    }
}
