using System.Text;
using System.Text.Json;
using CsCheck;
using KetamineCds.Api.Infrastructure;

namespace KetamineCds.Api.Tests.Hardening;

/// <summary>
/// The byte scan that refuses escaped NUL and lone surrogates (JsonRequestReader.InvalidEscape) replaced a full
/// Utf8JsonReader pass that decoded every escaped string. These tests hold it to that reader's verdicts: case by case,
/// and on generated strings mixing every escape JSON has, where an escaped backslash ("\\u0000" is text, not NUL) is
/// what a naive scan gets wrong.
/// </summary>
public sealed class EscapeScanTests
{
    public static TheoryData<string, bool> Cases => new()
    {
        { """{"text":"0.5 mg \u003C b.i.d. \u003E"}""", true },
        { """{"text":"\u0000"}""", false },
        { """{"text":"a\\u0000b"}""", true },
        { """{"text":"a\\\u0000b"}""", false },
        { """{"text":"\ud800"}""", false },
        { """{"text":"\udc00x"}""", false },
        { """{"text":"\ud83d\ude00 smile"}""", true },
        { """{"text":"\uD83D\uDE00"}""", true },
        { """{"text":"\ud83d\u0041"}""", false },
        { """{"text":"\ud83d\ud83d\ude00"}""", false },
        { """{"text":"\ud83d"}""", false },
        { """{"\ud800key":1}""", false },
        { """{"key\u0000":1}""", false },
        { """{"text":"\\\\ud800"}""", true },
        { """{"text":"\"\/\b\f\n\r\t"}""", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_string_with_an_escaped_NUL_or_lone_surrogate_is_refused_and_every_other_escape_passes(string json, bool valid)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.Equal(valid, ReaderVerdict(bytes));
        Assert.Equal(valid, JsonRequestReader.InvalidEscape(bytes) is null);
    }

    [Fact]
    public void The_scan_agrees_with_decoding_every_string_on_generated_text()
    {
        var piece = Gen.OneOf(
            "a", "é", "\\\\", "\\\"", "\\/", "\\n", "\\t", "\\u003C", "\\u0041", "\\u0000", "\\u00e9",
            "\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\ud83d\\ude00", "\\uD83D\\uDE00", "u0000", "\\\\u0000", "\\\\ud800");
        var text = piece.Array[0, 8].Select(parts => string.Concat(parts));
        Gen.Select(text, text, Gen.Bool).Sample((value, key, asKey) =>
        {
            var json = asKey ? $$"""{"{{key}}{{value}}":1}""" : $$"""{"{{key}}":"{{value}}"}""";
            var bytes = Encoding.UTF8.GetBytes(json);
            Assert.Equal(ReaderVerdict(bytes), JsonRequestReader.InvalidEscape(bytes) is null);
        }, iter: 5_000);
    }

    /// <summary>The oracle: decode every string and property name; valid when none throws or holds NUL.</summary>
    private static bool ReaderVerdict(byte[] bytes)
    {
        var reader = new Utf8JsonReader(bytes);
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName))
            {
                continue;
            }

            try
            {
                if (reader.GetString()!.Contains('\0', StringComparison.Ordinal))
                {
                    return false;
                }
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        return true;
    }
}
