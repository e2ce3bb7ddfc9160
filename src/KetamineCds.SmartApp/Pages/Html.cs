using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;

namespace KetamineCds.SmartApp.Pages;

/// <summary>
/// A small HTML builder: every text and attribute value goes through <see cref="HtmlEncoder"/>, so data from the EHR
/// (names, sig text, display names) can never become markup. Raw markup is only this assembly's own literals.
/// </summary>
public sealed class Html
{
    private readonly StringBuilder _b = new(16 * 1024);

    /// <summary>Appends trusted markup (a literal of this assembly, never data).</summary>
    public Html Raw(string markup)
    {
        _b.Append(markup);
        return this;
    }

    /// <summary>Appends text, encoded.</summary>
    public Html Text(string? text)
    {
        _b.Append(HtmlEncoder.Default.Encode(text ?? ""));
        return this;
    }

    /// <summary>An element with encoded text content and optional encoded attributes (name, value pairs).</summary>
    public Html El(string tag, string? text, params (string Name, string? Value)[] attributes)
    {
        Open(tag, attributes);
        Text(text);
        return Close(tag);
    }

    public Html Open(string tag, params (string Name, string? Value)[] attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        _b.Append('<').Append(tag);
        foreach (var (name, value) in attributes)
        {
            if (value is null)
            {
                continue;
            }

            _b.Append(' ').Append(name).Append("=\"").Append(HtmlEncoder.Default.Encode(value)).Append('"');
        }

        _b.Append('>');
        return this;
    }

    public Html Close(string tag)
    {
        _b.Append("</").Append(tag).Append('>');
        return this;
    }

    public override string ToString() => _b.ToString();

    public static string Number(decimal value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Number(decimal? value, string missing = "not available") => value is { } v ? Number(v) : missing;

    public static string WithSign(decimal value) => (value > 0 ? "+" : "") + Number(value);

    public static string Date(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string YesNo(bool? value, string unknown = "cannot be judged") => value switch
    {
        true => "yes",
        false => "no",
        null => unknown,
    };
}
