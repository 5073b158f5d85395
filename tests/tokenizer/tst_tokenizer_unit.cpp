// Tokenizer unit tests on hand-made vocabularies (no ../shared needed): special-token parsing, several
// EOS ids, chat template families, the streaming detokenizer, formatBytes, invalid UTF-8 input, the
// ModelProto writer/reader, and malformed tokenizer.json / GGUF vocabularies (Error names the field).
#include "common/error.h"
#include "formats/gguf_reader.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/spm_model_proto.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

using namespace logitscope;
using namespace logitscope::test;
using nlohmann::json;

namespace {

// A byte-level BPE tokenizer.json: the 256 byte characters (ids 0..255), a few merges spelling
// " hello" and "hello", and three added tokens (ids 262..264).
json smallByteLevelJson()
{
    json vocab = json::object();
    const auto& alphabet = utf8::byteToUnicode();
    for (int b = 0; b < 256; ++b)
        vocab[alphabet[size_t(b)]] = b;
    const std::vector<std::pair<std::string, std::string>> merges = {
        {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xC4\xA0", "hello"}, {"\xC4\xA0", "w"}};
    int id = 256;
    json mergeList = json::array();
    for (const auto& [a, b] : merges) {
        vocab[a + b] = id++;
        mergeList.push_back(a + " " + b);
    }
    json added = json::array();
    for (const char* t : {"<|im_start|>", "<|im_end|>", "<|endoftext|>"}) {
        added.push_back({{"id", id}, {"content", t}, {"special", true}, {"lstrip", false}, {"rstrip", false},
            {"normalized", false}, {"single_word", false}});
        vocab[t] = id++;
    }
    return {
        {"version", "1.0"},
        {"added_tokens", added},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
        {"post_processor", nullptr},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", mergeList}, {"ignore_merges", false}}},
    };
}

constexpr int32_t kImStart = 262, kImEnd = 263, kEndOfText = 264;

// A tiny SentencePiece BPE model with byte fallback: <unk>, <s>, </s>, 256 byte pieces, then words.
SpmModelSpec smallSpmSpec()
{
    SpmModelSpec spec;
    spec.pieces.push_back({"<unk>", 0, SpmPieceType::Unknown});
    spec.pieces.push_back({"<s>", 0, SpmPieceType::Control});
    spec.pieces.push_back({"</s>", 0, SpmPieceType::Control});
    char buf[8];
    for (int b = 0; b < 256; ++b) {
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        spec.pieces.push_back({buf, 0, SpmPieceType::Byte});
    }
    float score = -1;
    for (const char* p : {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81" "ab"})
        spec.pieces.push_back({p, score--, SpmPieceType::Normal});
    spec.byteFallback = true;
    spec.modelType = 2;
    return spec;
}

std::unique_ptr<SentencePieceTokenizer> smallSpm()
{
    TokenizerSettings s;
    s.source = "small-spm";
    s.bos = 1;
    s.eos = {2};
    s.unk = 0;
    s.addBos = true;
    const SpmModelSpec spec = smallSpmSpec();
    return std::make_unique<SentencePieceTokenizer>(serializeSpmModel(spec), spec, s);
}

// Expects fn to throw Error with every needle in its message.
template <typename Fn>
void expectError(Fn fn, std::initializer_list<const char*> needles)
{
    try {
        fn();
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const char* n : needles)
            QVERIFY2(msg.find(n) != std::string::npos, qPrintable(QString("\"%1\" not in: %2").arg(n, msg.c_str())));
        return;
    }
    QFAIL("no Error thrown");
}

} // namespace

class TstTokenizerUnit : public QObject {
    Q_OBJECT

private slots:
    void init();
    void byteLevelBasics();
    void specialTokenParsing();
    void multipleEos();
    void chatTemplates_data();
    void chatTemplates();
    void unknownChatTemplate();
    void streamingDetokenizerByteLevel();
    void streamingDetokenizerByteTokens();
    void formatBytesAndDisplay();
    void invalidUtf8Input();
    void sentencePieceBasics();
    void spmProtoRoundTrip();
    void metaspaceBpeJson();
    void malformedTokenizerJson_data();
    void malformedTokenizerJson();
    void malformedGguf_data();
    void malformedGguf();

private:
    std::string writeFolder(const json& tokenizerJson, const json& tokenizerConfig = json(),
        const json& generationConfig = json());
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TstTokenizerUnit::init() { m_dir = std::make_unique<QTemporaryDir>(); }

std::string TstTokenizerUnit::writeFolder(const json& tj, const json& config, const json& generation)
{
    const std::string dir = m_dir->path().toStdString();
    writeFile(dir + "/tokenizer.json", tj.dump());
    QFile::remove(QString::fromStdString(dir + "/tokenizer_config.json"));
    QFile::remove(QString::fromStdString(dir + "/generation_config.json"));
    if (!config.is_null())
        writeFile(dir + "/tokenizer_config.json", config.dump());
    if (!generation.is_null())
        writeFile(dir + "/generation_config.json", generation.dump());
    return dir;
}

void TstTokenizerUnit::byteLevelBasics()
{
    const auto tok = loadTokenizerFromFolder(writeFolder(smallByteLevelJson()));
    QCOMPARE(QString::fromStdString(tok->kind()), QString("byte-bpe"));
    QCOMPARE(tok->vocabSize(), 265);
    const std::vector<int32_t> ids = tok->encode("hello hello", {false, false});
    QCOMPARE(ids, (std::vector<int32_t>{259, 260})); // "hello", "Ġhello"
    QCOMPARE(tok->piece(260), std::string("\xC4\xA0hello"));
    QCOMPARE(tok->tokenBytes(260), std::string(" hello"));
    QCOMPARE(tok->decode(ids), std::string("hello hello"));
    QCOMPARE(tok->bos(), -1);
    QVERIFY(!tok->addBos());
    expectError([&] { tok->tokenBytes(265); }, {"token id 265", "outside"});
}

void TstTokenizerUnit::specialTokenParsing()
{
    const auto tok = loadTokenizerFromFolder(writeFolder(smallByteLevelJson()));
    const std::string text = "<|im_start|>hello<|im_end|>";
    const auto parsed = tok->encode(text, {false, true});
    QCOMPARE(parsed, (std::vector<int32_t>{kImStart, 259, kImEnd}));
    QVERIFY(tok->isSpecial(kImStart));
    QVERIFY(!tok->isSpecial(259));
    QCOMPARE(tok->decode(parsed, true), std::string("hello"));
    QCOMPARE(tok->decode(parsed, false), text);

    const auto literal = tok->encode(text, {false, false});
    QVERIFY(std::find(literal.begin(), literal.end(), kImStart) == literal.end());
    QVERIFY(literal.size() > 3);
    QCOMPARE(tok->decode(literal), text);
}

void TstTokenizerUnit::multipleEos()
{
    const auto tok = loadTokenizerFromFolder(writeFolder(smallByteLevelJson(),
        {{"eos_token", "<|im_end|>"}, {"add_bos_token", false}},
        {{"eos_token_id", {kImEnd, kEndOfText}}}));
    QCOMPARE(tok->eos(), kImEnd);
    QCOMPARE(tok->eosIds(), (std::vector<int32_t>{kImEnd, kEndOfText}));
    QVERIFY(tok->isEos(kEndOfText));
    QVERIFY(!tok->isEos(kImStart));
    QVERIFY(!tok->addEos());

    // A ChatML template makes <|im_end|> end generation even when only <|endoftext|> is configured.
    const auto chatml = loadTokenizerFromFolder(writeFolder(smallByteLevelJson(),
        {{"eos_token", "<|endoftext|>"}, {"chat_template", "{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"}}));
    QCOMPARE(chatml->eosIds(), (std::vector<int32_t>{kEndOfText, kImEnd}));

    // add_eos_token appends the primary EOS.
    const auto withEos = loadTokenizerFromFolder(writeFolder(smallByteLevelJson(),
        {{"eos_token", "<|endoftext|>"}, {"add_eos_token", true}}));
    QCOMPARE(withEos->encode("hello"), (std::vector<int32_t>{259, kEndOfText}));
}

void TstTokenizerUnit::chatTemplates_data()
{
    QTest::addColumn<QString>("tmpl");
    QTest::addColumn<QString>("family");
    QTest::addColumn<QString>("expected");
    QTest::newRow("chatml (SmolLM2 / Qwen)")
        << "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
        << "chatml" << "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n";
    QTest::newRow("llama2")
        << "{% if messages[0]['role'] == 'system' %}{% set system_message = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}{% endif %}{{ bos_token + '[INST] ' + content + ' [/INST]' }}"
        << "llama2" << "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST]";
    QTest::newRow("llama3")
        << "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}"
        << "llama3" << "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    QTest::newRow("zephyr (TinyLlama)")
        << "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\\n' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}{{ '<|system|>\\n' + message['content'] + eos_token }}{% endif %}{% endfor %}"
        << "zephyr" << "<|system|>\nBe brief.</s>\n<|user|>\nHi!</s>\n<|assistant|>\n";
    QTest::newRow("mistral")
        << "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}"
        << "mistral" << "[INST] Be brief.\n\nHi! [/INST]";
    QTest::newRow("phi3")
        << "{% for message in messages %}{% if (message['role'] == 'user') %}{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>' + '\\n'}}{% endif %}{% endfor %}"
        << "phi3" << "<|system|>\nBe brief.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\n";
}

void TstTokenizerUnit::chatTemplates()
{
    QFETCH(QString, tmpl);
    QFETCH(QString, family);
    QFETCH(QString, expected);
    const auto tok = loadTokenizerFromFolder(writeFolder(smallByteLevelJson(), {{"chat_template", tmpl.toStdString()}}));
    QCOMPARE(QString::fromStdString(tok->chatTemplate()), tmpl);
    const ChatRendering r = tok->renderChat("Be brief.", "Hi!");
    QCOMPARE(QString::fromStdString(r.family), family);
    QCOMPARE(QString::fromStdString(r.text), expected);
    QVERIFY(r.notice.empty());
    // Without a system message the system block is left out.
    const ChatRendering u = tok->renderChat("", "Hi!");
    QVERIFY(u.text.find("Be brief.") == std::string::npos);
    QVERIFY(u.text.find("Hi!") != std::string::npos);
}

void TstTokenizerUnit::unknownChatTemplate()
{
    const auto tok = loadTokenizerFromFolder(writeFolder(smallByteLevelJson(),
        {{"chat_template", "{% for m in messages %}### {{ m.role }}: {{ m.content }}{% endfor %}"}}));
    const ChatRendering r = tok->renderChat("Be brief.", "Hi!");
    QCOMPARE(QString::fromStdString(r.family), QString("raw"));
    QCOMPARE(QString::fromStdString(r.text), QString("Be brief.\n\nHi!"));
    QVERIFY(r.notice.find("unrecognised chat template") != std::string::npos);

    const auto none = loadTokenizerFromFolder(writeFolder(smallByteLevelJson()));
    const ChatRendering n = none->renderChat("", "Hi!");
    QCOMPARE(QString::fromStdString(n.text), QString("Hi!"));
    QVERIFY(n.notice.find("no chat template") != std::string::npos);
}

// "€" is E2 82 AC: with no merges for it, byte-level BPE gives one token per byte.
void TstTokenizerUnit::streamingDetokenizerByteLevel()
{
    const auto tok = loadTokenizerFromFolder(writeFolder(smallByteLevelJson()));
    const auto ids = tok->encode("hello \xE2\x82\xAC!", {false, false});
    QCOMPARE(ids.size(), size_t(6)); // hello, Ġ, E2, 82, AC, !
    QVERIFY(isPartialUtf8(tok->tokenBytes(ids[2])));
    QCOMPARE(displayTokenBytes(tok->tokenBytes(ids[2])), std::string("<0xE2>"));

    StreamingDetokenizer detok(*tok);
    std::string text;
    std::vector<bool> incomplete;
    for (int32_t id : ids) {
        const auto step = detok.push(id);
        text += step.text;
        incomplete.push_back(step.incomplete);
    }
    QCOMPARE(text, std::string("hello \xE2\x82\xAC!"));
    QCOMPARE(incomplete, (std::vector<bool>{false, false, true, true, false, false}));
    QCOMPARE(detok.flush(), std::string());

    // Special tokens are skipped; a character left unfinished is flushed as U+FFFD.
    QCOMPARE(detok.push(kImStart).text, std::string());
    QVERIFY(detok.push(ids[2]).incomplete);
    QCOMPARE(detok.pendingBytes(), std::string("\xE2"));
    QCOMPARE(detok.flush(), std::string("\xEF\xBF\xBD"));
    // A byte that cannot start a character is replaced at once.
    QCOMPARE(detok.push(ids[3]).text, std::string("\xEF\xBF\xBD"));
}

// SentencePiece byte fallback: "é" (C3 A9) is not a piece, so it becomes <0xC3> <0xA9>.
void TstTokenizerUnit::streamingDetokenizerByteTokens()
{
    const auto tok = smallSpm();
    const auto ids = tok->encode("a\xC3\xA9", {false, false});
    QCOMPARE(ids, (std::vector<int32_t>{262, 3 + 0xC3, 3 + 0xA9})); // "▁a", <0xC3>, <0xA9>
    QCOMPARE(tok->piece(3 + 0xC3), std::string("<0xC3>"));
    QCOMPARE(tok->tokenBytes(3 + 0xC3), std::string("\xC3"));
    StreamingDetokenizer detok(*tok);
    QCOMPARE(detok.push(262).text, std::string(" a"));
    const auto half = detok.push(3 + 0xC3);
    QVERIFY(half.incomplete);
    QCOMPARE(half.text, std::string());
    const auto full = detok.push(3 + 0xA9);
    QVERIFY(!full.incomplete);
    QCOMPARE(full.text, std::string("\xC3\xA9"));
}

void TstTokenizerUnit::formatBytesAndDisplay()
{
    QCOMPARE(formatBytes(" The"), std::string("0x20 0x54 0x68 0x65"));
    QCOMPARE(formatBytes(""), std::string());
    QCOMPARE(formatBytes("\xE2\x96\x81"), std::string("0xE2 0x96 0x81"));
    QCOMPARE(displayTokenBytes("ab\xE2\x96"), std::string("ab<0xE2><0x96>"));
    QCOMPARE(displayTokenBytes("\xE2\x96\x81"), std::string("\xE2\x96\x81"));
    QVERIFY(!isPartialUtf8("abc"));
    QVERIFY(isPartialUtf8("\x96\x81"));
}

void TstTokenizerUnit::invalidUtf8Input()
{
    const std::string bad = "he\xFFllo \xC3(\xED\xA0\x80";
    const auto bpe = loadTokenizerFromFolder(writeFolder(smallByteLevelJson()));
    const auto ids = bpe->encode(bad, {false, false});
    QCOMPARE(bpe->decode(ids), bad);
    QVERIFY(std::find(ids.begin(), ids.end(), 0xFF) != ids.end()); // the byte-level token of byte 0xFF

    const auto spm = smallSpm();
    const auto sids = spm->encode(bad, {false, false});
    QVERIFY(std::find(sids.begin(), sids.end(), 3 + 0xFF) != sids.end());
    QCOMPARE(spm->decode(sids), bad);
}

void TstTokenizerUnit::sentencePieceBasics()
{
    const auto tok = smallSpm();
    QCOMPARE(QString::fromStdString(tok->kind()), QString("sentencepiece"));
    QCOMPARE(tok->encode("ab a"), (std::vector<int32_t>{1, 264, 262})); // <s> "▁ab" "▁a"
    QCOMPARE(tok->decode(tok->encode("ab a")), std::string("ab a"));
    QCOMPARE(tok->tokenBytes(264), std::string(" ab"));
    // Special-token text: one token when parsed; the text after it gets the dummy prefix again.
    QCOMPARE(tok->encode("a<s>a", {false, true}), (std::vector<int32_t>{262, 1, 262}));
    const auto literal = tok->encode("<s>", {false, false});
    QVERIFY(std::find(literal.begin(), literal.end(), 1) == literal.end());
    QCOMPARE(tok->decode(literal), std::string("<s>"));
}

void TstTokenizerUnit::spmProtoRoundTrip()
{
    SpmModelSpec spec = smallSpmSpec();
    spec.addDummyPrefix = false;
    spec.unkId = 0;
    spec.padId = -1;
    const std::string bytes = serializeSpmModel(spec);
    const SpmModelSpec back = parseSpmModel(bytes, "mem");
    QCOMPARE(back.pieces.size(), spec.pieces.size());
    for (size_t i = 0; i < spec.pieces.size(); ++i) {
        QCOMPARE(back.pieces[i].piece, spec.pieces[i].piece);
        QCOMPARE(back.pieces[i].score, spec.pieces[i].score);
        QCOMPARE(int(back.pieces[i].type), int(spec.pieces[i].type));
    }
    QCOMPARE(back.modelType, 2);
    QVERIFY(back.byteFallback);
    QVERIFY(!back.addDummyPrefix);
    QCOMPARE(back.padId, -1);
    QCOMPARE(back.normalizerName, std::string("identity"));
    QVERIFY(parseSpmModel(withAddDummyPrefix(bytes, true, "mem"), "mem").addDummyPrefix);
    expectError([&] { parseSpmModel(bytes.substr(0, bytes.size() - 3), "cut.model"); }, {"cut.model", "ModelProto", "runs past the end"});
}

// A Llama-2-style tokenizer.json: character-level BPE with byte fallback, "▁" added by the normalizer,
// and a decoder that strips the leading space again.
void TstTokenizerUnit::metaspaceBpeJson()
{
    const std::string sp = "\xE2\x96\x81";
    json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
    char buf[8];
    for (int b = 0; b < 256; ++b) {
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        vocab[buf] = 3 + b;
    }
    int id = 259;
    for (const std::string p : {sp, std::string("a"), std::string("b"), sp + "a", std::string("ab"), sp + "ab"})
        vocab[p] = id++;
    json j = {
        {"added_tokens", {{{"id", 0}, {"content", "<unk>"}, {"special", true}}, {{"id", 1}, {"content", "<s>"}, {"special", true}},
                             {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
        {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", sp}},
                                                                 {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", sp}}}}}},
        {"pre_tokenizer", nullptr},
        {"post_processor", {{"type", "TemplateProcessing"},
                               {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                               {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
        {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", sp}}}, {"content", " "}},
                                                           {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                                           {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
        {"model", {{"type", "BPE"}, {"byte_fallback", true}, {"unk_token", "<unk>"}, {"vocab", vocab},
                      {"merges", {sp + " a", "a b", sp + "a b"}}}},
    };
    const auto tok = loadTokenizerFromFolder(writeFolder(j));
    QCOMPARE(QString::fromStdString(tok->kind()), QString("bpe"));
    QCOMPARE(tok->bos(), 1);
    QVERIFY(tok->addBos());
    QCOMPARE(tok->unk(), 0);
    const auto ids = tok->encode("ab a\xC3\xA9");
    QCOMPARE(ids, (std::vector<int32_t>{1, 264, 262, 3 + 0xC3, 3 + 0xA9})); // <s> ▁ab ▁a <0xC3> <0xA9>
    QCOMPARE(tok->decode(ids), std::string("ab a\xC3\xA9"));
    QCOMPARE(tok->tokenBytes(264), std::string(" ab"));
    QCOMPARE(tok->tokenBytes(3 + 0x0A), std::string("\n"));
}

void TstTokenizerUnit::malformedTokenizerJson_data()
{
    QTest::addColumn<QString>("what");
    QTest::addColumn<QStringList>("needles");
    QTest::newRow("merge names an unknown token") << "merge" << QStringList{"model.merges[6]", "unknown token \"zz\""};
    QTest::newRow("merged token not in vocab") << "merge-result" << QStringList{"model.merges[6]", "\"lo\" is not in the vocabulary"};
    QTest::newRow("duplicate ids") << "duplicate" << QStringList{"model.vocab", "id 5 is used by both"};
    QTest::newRow("id out of range") << "range" << QStringList{"model.vocab", "has id 99999", "outside"};
    QTest::newRow("negative id") << "negative" << QStringList{"model.vocab", "has id -4"};
    QTest::newRow("gap in ids") << "gap" << QStringList{"added_tokens[0]", "outside"};
    QTest::newRow("invalid UTF-8 in a piece") << "utf8" << QStringList{"tokenizer.json", "invalid JSON in model.vocab"};
    QTest::newRow("unknown pre-tokenizer") << "pretok" << QStringList{"pre_tokenizer.pretokenizers[1].type", "unknown pre-tokenizer \"Fancy\""};
    QTest::newRow("bad split behavior") << "behavior" << QStringList{"pre_tokenizer.behavior", "\"Sideways\""};
    QTest::newRow("bad regex") << "regex" << QStringList{"pre_tokenizer.pattern", "invalid regex"};
    QTest::newRow("unsupported model") << "model" << QStringList{"model.type", "\"WordPiece\""};
    QTest::newRow("malformed merge entry") << "merge-shape" << QStringList{"model.merges[6]", "expected"};
}

void TstTokenizerUnit::malformedTokenizerJson()
{
    QFETCH(QString, what);
    QFETCH(QStringList, needles);
    json j = smallByteLevelJson();
    std::string text;
    if (what == "merge") {
        j["model"]["merges"].push_back("zz y");
    } else if (what == "merge-result") {
        j["model"]["merges"].push_back("l o");
    } else if (what == "duplicate") {
        j["model"]["vocab"]["\xC4\xA0w"] = 5;
    } else if (what == "range") {
        j["model"]["vocab"]["\xC4\xA0w"] = 99999;
    } else if (what == "negative") {
        j["model"]["vocab"]["\xC4\xA0w"] = -4;
    } else if (what == "gap") {
        j["added_tokens"][0]["id"] = 100000;
    } else if (what == "pretok") {
        j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, {{"type", "Fancy"}}}}};
    } else if (what == "behavior") {
        j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Sideways"}};
    } else if (what == "regex") {
        j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(\\p{L}+"}}}, {"behavior", "Isolated"}};
    } else if (what == "model") {
        j["model"]["type"] = "WordPiece";
    } else if (what == "merge-shape") {
        j["model"]["merges"].push_back(json::array({"a"}));
    }
    text = j.dump();
    if (what == "utf8") { // a raw 0xFF byte inside a vocabulary key
        const size_t p = text.find("\"\xC4\xA0hello\"");
        QVERIFY(p != std::string::npos);
        text[p + 1] = '\xFF';
    }
    const std::string path = m_dir->path().toStdString() + "/tokenizer.json";
    writeFile(path, text);
    std::vector<const char*> list;
    std::vector<std::string> storage;
    for (const QString& n : needles)
        storage.push_back(n.toStdString());
    try {
        loadTokenizerFile(path);
        QFAIL("no Error thrown");
    } catch (const Error& e) {
        const std::string msg = e.what();
        for (const std::string& n : storage)
            QVERIFY2(msg.find(n) != std::string::npos, qPrintable(QString("\"%1\" not in: %2").arg(n.c_str(), msg.c_str())));
    }
}

void TstTokenizerUnit::malformedGguf_data()
{
    QTest::addColumn<QString>("what");
    QTest::addColumn<QStringList>("needles");
    QTest::newRow("unknown pre name") << "pre" << QStringList{"tokenizer.ggml.pre", "\"my-new-model\""};
    QTest::newRow("invalid UTF-8 token") << "utf8" << QStringList{"tokenizer.ggml.tokens[2]", "invalid UTF-8"};
    QTest::newRow("token types size") << "types" << QStringList{"tokenizer.ggml.token_type has 2 entries"};
    QTest::newRow("unknown token type") << "type-value" << QStringList{"tokenizer.ggml.token_type[1]", "unknown token type 9"};
    QTest::newRow("merge with unknown token") << "merge" << QStringList{"tokenizer.ggml.merges[0]", "unknown token \"q\""};
    QTest::newRow("unsupported model") << "model" << QStringList{"tokenizer.ggml.model", "\"t5\""};
    QTest::newRow("llama vocab without unk") << "nounk" << QStringList{"tokenizer.ggml.unknown_token_id"};
    QTest::newRow("bos out of range") << "bos" << QStringList{"BOS token id 77"};
}

void TstTokenizerUnit::malformedGguf()
{
    QFETCH(QString, what);
    QFETCH(QStringList, needles);
    std::vector<std::string> tokens = {"a", "b", "ab", "<|endoftext|>"};
    std::vector<int32_t> types = {1, 1, 1, 3};
    std::vector<std::string> merges = {"a b"};
    std::string model = "gpt2";
    GgufMetaWriter w;
    if (what == "utf8") tokens[2] = "a\xFF";
    if (what == "types") types.resize(2);
    if (what == "type-value") types[1] = 9;
    if (what == "merge") merges = {"q b"};
    if (what == "model") model = "t5";
    if (what == "nounk") model = "llama";
    w.str("tokenizer.ggml.model", model);
    w.str("tokenizer.ggml.pre", what == "pre" ? "my-new-model" : "gpt-2");
    w.strArray("tokenizer.ggml.tokens", tokens);
    w.i32Array("tokenizer.ggml.token_type", types);
    w.strArray("tokenizer.ggml.merges", merges);
    w.u32("tokenizer.ggml.bos_token_id", what == "bos" ? 77 : 3);
    const std::string path = m_dir->path().toStdString() + "/vocab.gguf";
    w.save(path);

    std::vector<std::string> storage;
    for (const QString& n : needles)
        storage.push_back(n.toStdString());
    try {
        loadTokenizerFile(path);
        QFAIL("no Error thrown");
    } catch (const Error& e) {
        const std::string msg = e.what();
        QVERIFY2(msg.find("vocab.gguf") != std::string::npos, e.what());
        for (const std::string& n : storage)
            QVERIFY2(msg.find(n) != std::string::npos, qPrintable(QString("\"%1\" not in: %2").arg(n.c_str(), msg.c_str())));
    }

    // The same file with nothing wrong loads.
    if (what == "pre") {
        GgufMetaWriter ok;
        ok.str("tokenizer.ggml.model", "gpt2");
        ok.str("tokenizer.ggml.pre", "gpt-2");
        ok.strArray("tokenizer.ggml.tokens", {"a", "b", "ab", "<|endoftext|>"});
        ok.i32Array("tokenizer.ggml.token_type", {1, 1, 1, 3});
        ok.strArray("tokenizer.ggml.merges", {"a b"});
        ok.u32("tokenizer.ggml.eos_token_id", 3);
        ok.save(path);
        const auto tok = loadTokenizerFile(path);
        QCOMPARE(tok->encode("ab<|endoftext|>", {false, true}), (std::vector<int32_t>{2, 3}));
        QCOMPARE(tok->eos(), 3);
    }
}

QTEST_APPLESS_MAIN(TstTokenizerUnit)
#include "tst_tokenizer_unit.moc"
