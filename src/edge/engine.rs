//! JSON through the engine: answers parsed by V8's native `JSON.parse` and read with
//! serde-wasm-bindgen (as the event object is, in the edge), strings written by
//! `JSON.stringify`. This is what
//! [`crate::json::parse`] is in the Action's module, so the module carries no JSON parser of its
//! own (serde_json stays for the host tests, fuzzing and Rust backends). A leaf: it imports nothing
//! of the crate, so the pure modules can reach it without an import cycle.

use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// `text` read as `T`: the engine's `JSON.parse`, then serde-wasm-bindgen, which reads only the
/// fields `T` declares. `Err(None)` when the text is not JSON, `Err(Some(why))` when it is not of
/// `T`'s shape.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Option<String>> {
    read(js_sys::JSON::parse(text))
}

/// A string of the engine's: the body of an answer ([`crate::json::Body`]), never copied into
/// the module.
pub type Text = js_sys::JsString;

#[wasm_bindgen]
extern "C" {
    /// `JSON.parse` of a string that stays in the engine.
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn parse_engine_string(text: &Text) -> Result<JsValue, JsValue>;
}

/// [`parse`] for a string the engine holds.
pub fn parse_text<T: DeserializeOwned>(text: &Text) -> Result<T, Option<String>> {
    read(parse_engine_string(text))
}

fn read<T: DeserializeOwned>(parsed: Result<JsValue, JsValue>) -> Result<T, Option<String>> {
    let value = parsed.map_err(|_| None)?;
    serde_wasm_bindgen::from_value(value).map_err(|e| Some(message(e)))
}

/// The first character of `text` after JSON's whitespace (space, tab, line feed, carriage
/// return: what `JSON.parse` skips). `None` for a text that holds nothing else, or whose first
/// other character is a lone surrogate.
pub fn first_char(text: &Text) -> Option<char> {
    let mut at = 0;
    loop {
        // A code point (a pair of surrogates read as one), or `undefined` past the end.
        let code = text.code_point_at(at).as_f64()?;
        let c = char::from_u32(code as u32)?;
        if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            return Some(c);
        }
        at += 1;
    }
}

/// A string as a JSON string literal, by the engine's `JSON.stringify`.
pub fn json_string(s: &str) -> String {
    js_sys::JSON::stringify(&JsValue::from_str(s))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// The message of a serde-wasm-bindgen error (a JavaScript `Error`), without the `Error: ` that
/// `String(error)` would put before it.
pub fn message(error: serde_wasm_bindgen::Error) -> String {
    JsValue::from(error)
        .unchecked_into::<js_sys::Error>()
        .message()
        .into()
}

/// A float as JavaScript's `String(value)` writes it (`1.5`, `1e-7`, `-2.5e+300`). serde's
/// messages quote a float where a string or object was expected; core's float formatting is not
/// in the module, and build-tools/snip.js points serde's float `Display` (`WithDecimalPoint`, the
/// same signature and ABI: this is a Rust function) here instead. Not exported: snip removes the
/// export that keeps it in the module until then.
#[no_mangle]
pub fn auth0_rbac_claims_format_float(
    value: &f64,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    let text: String = js_sys::Number::from(*value)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default();
    f.write_str(&text)
}
