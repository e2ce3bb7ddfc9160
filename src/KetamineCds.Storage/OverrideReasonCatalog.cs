using System.Text.Json;

namespace KetamineCds.Storage;

/// <summary>One override reason of our CodeSystem.</summary>
public sealed record OverrideReason(string Code, string Display);

/// <summary>
/// The override reasons the cards offer, read from
/// <c>fhir-profiles/terminology/CodeSystem-ketamine-cds-override-reason.json</c> (INTERFACES.md seam 3), against which
/// a posted <c>overrideReason.reason</c> is validated. Read with System.Text.Json: only url and concept code/display
/// are needed, and Storage carries no FHIR types.
/// </summary>
public sealed class OverrideReasonCatalog
{
    public const string FileName = "terminology/CodeSystem-ketamine-cds-override-reason.json";

    private readonly Dictionary<string, OverrideReason> byCode;

    public OverrideReasonCatalog(string system, IEnumerable<OverrideReason> reasons)
    {
        System = system;
        byCode = reasons.ToDictionary(r => r.Code, StringComparer.Ordinal);
    }

    /// <summary>The CodeSystem url (the <c>system</c> of every reason on our cards).</summary>
    public string System { get; }

    public IReadOnlyCollection<OverrideReason> All => byCode.Values;

    public OverrideReason? Find(string code) => byCode.GetValueOrDefault(code);

    /// <summary>Reads the CodeSystem; a missing url, code or display is a broken artifact and stops the service.</summary>
    public static OverrideReasonCatalog FromCodeSystemJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("resourceType", out var type) || type.GetString() != "CodeSystem"
            || !root.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String
            || !root.TryGetProperty("concept", out var concepts) || concepts.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{FileName}: a CodeSystem with url and concept[] is required.");
        }

        var reasons = new List<OverrideReason>();
        foreach (var concept in concepts.EnumerateArray())
        {
            if (!concept.TryGetProperty("code", out var code) || code.ValueKind != JsonValueKind.String
                || !concept.TryGetProperty("display", out var display) || display.ValueKind != JsonValueKind.String)
            {
                // CDS Hooks 2.0: display is REQUIRED for override reasons a service provides.
                throw new InvalidDataException($"{FileName}: every concept needs a code and a display.");
            }

            reasons.Add(new OverrideReason(code.GetString()!, display.GetString()!));
        }

        return reasons.Count == 0
            ? throw new InvalidDataException($"{FileName}: no override reasons.")
            : new OverrideReasonCatalog(url.GetString()!, reasons);
    }
}
