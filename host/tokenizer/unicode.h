// Character properties and normalisation forms, from utf8proc, with the definitions HF
// tokenizers uses (Rust's char methods and the unicode_categories crate).
//
// Known difference: HF's punctuation / control / nonspacing-mark tests come from the
// unicode_categories crate, whose tables are Unicode 8.0; utf8proc follows a current Unicode.
// Characters assigned one of those categories after Unicode 8.0 (e.g. U+2E45.., U+0890,
// U+1AC1) are classified here by the newer standard.
#pragma once

#include <string>
#include <string_view>

namespace pq::tok::unicode {

// Rust's char::is_whitespace: the White_Space property, which is the separators (Z*) plus
// U+0009..U+000D and U+0085.
bool is_whitespace(char32_t c);
// Rust's char::is_numeric: any number category (Nd, Nl, No).
bool is_numeric(char32_t c);
// Rust regex's \w (which HF uses for single_word added tokens and the Whitespace
// pre-tokenizer): Alphabetic, marks, decimal digits, connector punctuation, ZWNJ and ZWJ.
// Alphabetic is taken as letters + letter numbers, which misses the few symbols that are
// Other_Alphabetic (ⓐ..ⓩ, 🄰..🅉).
bool is_word_char(char32_t c);
// HF's punctuation test: ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~)
// or any Unicode punctuation category (P*).
bool is_punctuation(char32_t c);
// HF BertNormalizer's "control": Cc, Cf, Co (not Cn) except \t \n \r.
bool is_control(char32_t c);
// Mn, what StripAccents removes.
bool is_nonspacing_mark(char32_t c);
// The CJK ideograph blocks of Google's original BERT (`_is_chinese_char`), as HF lists them.
bool is_bert_chinese_char(char32_t c);

// Rust's char::to_lowercase: the full (context-free) lowercase mapping.
void append_lowercase(std::string& out, char32_t c);
std::string lowercase(std::string_view s);

enum class NormalizationForm { NFC, NFD, NFKC, NFKD };
// Precondition: valid UTF-8 (embedded NUL characters are allowed).
std::string normalize(std::string_view s, NormalizationForm form);

}  // namespace pq::tok::unicode
