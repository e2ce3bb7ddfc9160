using System.Globalization;
using System.Text;

namespace KetamineCds.Api.Infrastructure;

/// <summary>
/// Makes a request-derived value (path, hookInstance, service id, issuer, jti, a message that echoes one) safe to hand
/// to any log formatter: control characters (CR, LF, TAB, ESC and the other C0/C1 controls, DEL) and the Unicode line
/// and bidirectional-override separators are written as visible escapes (<c>\n</c>, <c>\x1b</c>, <c>\u2028</c>), so
/// no value can start a forged line or recolour a terminal; and the value is cut at a fixed length, so one request
/// cannot write megabytes of log (issue 8 item 4). Escaping happens before the formatter, so the simple, systemd and
/// JSON console formatters, and any other provider, all receive the same harmless text.
/// </summary>
public static class LogText
{
    /// <summary>Longest value kept: enough for a UUID hookInstance, a service id or an issuer URL.</summary>
    public const int DefaultMaxLength = 64;

    /// <summary>Longest message kept (a refusal reason that names a field and echoes a value).</summary>
    public const int MessageMaxLength = 256;

    public static string Safe(string? value, int maxLength = DefaultMaxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        // The common case (a UUID, a code, an https URL) is printable and short: returned as it is, nothing allocated.
        if (value.Length <= maxLength && !NeedsEscape(value))
        {
            return value;
        }

        var builder = new StringBuilder(Math.Min(value.Length, maxLength) + 24);
        var kept = 0;
        for (; kept < value.Length && builder.Length < maxLength; kept++)
        {
            var c = value[kept];
            if (!IsUnsafe(c))
            {
                builder.Append(c);
                continue;
            }

            builder.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                < '\u0100' => "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
                _ => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
            });
        }

        if (kept < value.Length)
        {
            builder.Append("...(+").Append((value.Length - kept).ToString(CultureInfo.InvariantCulture)).Append(" chars)");
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(string value)
    {
        foreach (var c in value)
        {
            if (IsUnsafe(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// C0 and C1 controls and DEL; U+2028/U+2029 (line and paragraph separators, which some viewers break on); the
    /// bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) that can make a line read
    /// differently from what it holds; lone surrogates (not text; a JSON formatter would write them as U+FFFD).
    /// </summary>
    private static bool IsUnsafe(char c) =>
        c < ' ' || c is >= '\u007f' and <= '\u009f' || c is '\u2028' or '\u2029' || c is >= '\u202a' and <= '\u202e'
        || c is >= '\u2066' and <= '\u2069' || char.IsSurrogate(c);
}
