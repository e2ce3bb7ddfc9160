namespace KetamineCds.SmartApp.Launch;

/// <summary>
/// The scopes the app asks for: read-only access to what the page shows (SMART App Launch 2.0 scope syntax, ".rs" =
/// read + search), falling back to SMART v1 (<c>patient/*.read</c>) for servers that advertise only v1.
/// </summary>
public static class SmartScopes
{
    public static IReadOnlyList<string> V2Resources { get; } =
    [
        "patient/MedicationStatement.rs", "patient/MedicationRequest.rs", "patient/Medication.rs",
        "patient/Observation.rs", "patient/Patient.rs",
    ];

    public static IReadOnlyList<string> V1Resources { get; } = ["patient/*.read"];

    /// <summary>
    /// v1 only when the server says so: capabilities list permission-v1 without permission-v2, or (with no permission-v*
    /// capability) scopes_supported lists v1 resource scopes and no v2 ones. Otherwise v2, as SMART 2.0 servers must accept.
    /// </summary>
    public static bool ServerIsV1Only(IReadOnlyCollection<string> capabilities, IReadOnlyCollection<string> scopesSupported)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        ArgumentNullException.ThrowIfNull(scopesSupported);
        var v1 = capabilities.Contains("permission-v1");
        var v2 = capabilities.Contains("permission-v2");
        if (v1 || v2)
        {
            return v1 && !v2;
        }

        var resourceScopes = scopesSupported.Where(s => s.Contains('/', StringComparison.Ordinal) && s.Contains('.', StringComparison.Ordinal)).ToList();
        var hasV1 = resourceScopes.Any(s => s.EndsWith(".read", StringComparison.Ordinal) || s.EndsWith(".write", StringComparison.Ordinal) || s.EndsWith(".*", StringComparison.Ordinal));
        var hasV2 = resourceScopes.Any(s => s[(s.LastIndexOf('.') + 1)..] is { Length: > 0 } p && p.All(c => "cruds".Contains(c, StringComparison.Ordinal)));
        return hasV1 && !hasV2;
    }

    /// <summary>The scope string: resource scopes, the launch scope (EHR: launch; standalone: launch/patient), openid fhirUser.</summary>
    public static string For(bool v1Only, bool standalone, IEnumerable<string> extra)
    {
        ArgumentNullException.ThrowIfNull(extra);
        var scopes = new List<string>(v1Only ? V1Resources : V2Resources)
        {
            standalone ? "launch/patient" : "launch",
            "openid",
            "fhirUser",
        };
        scopes.AddRange(extra.Where(s => !string.IsNullOrWhiteSpace(s) && !scopes.Contains(s)));
        return string.Join(' ', scopes);
    }
}
