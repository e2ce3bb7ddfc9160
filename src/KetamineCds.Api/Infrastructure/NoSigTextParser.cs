using KetamineCds.Clinical.Dosing;

namespace KetamineCds.Api.Infrastructure;

/// <summary>Until free-text sigs are parsed, every text sig is reported as unreadable (never as zero).</summary>
internal sealed class NoSigTextParser : ISigTextParser
{
    public SigParseResult Parse(string text) => new([], text);
}
