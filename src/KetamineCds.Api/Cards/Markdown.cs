using System.Globalization;
using System.Text;

namespace KetamineCds.Api.Cards;

/// <summary>Markdown helpers for card details. Text from the EHR is escaped so it can never inject markup or HTML.</summary>
public static class Markdown
{
    // Only characters that can open markup mid-line; EHR text never starts a line on our cards, so list and
    // heading markers cannot fire. Angle brackets are escaped so no HTML tag can ever form.
    private const string Special = "\\`*_[]<>|~";

    /// <summary>Escapes EHR-supplied text (names, sigs) for CommonMark; angle brackets can never open an HTML tag.</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c is '\r' or '\n')
            {
                sb.Append(' ');
                continue;
            }

            if (Special.Contains(c, StringComparison.Ordinal))
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    public static string Number(decimal value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Number(decimal? value, string unknown = "unknown") => value is { } v ? Number(v) : unknown;

    /// <summary>An article's figure as the article printed it (0.70 stays 0.70).</summary>
    public static string AsPublished(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Shortens a summary to the CDS Hooks limit (under 140 characters).</summary>
    public static string Summary(string text) => text.Length < 140 ? text : text[..136].TrimEnd() + "...";
}
