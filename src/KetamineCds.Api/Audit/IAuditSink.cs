namespace KetamineCds.Api.Audit;

/// <summary>
/// What the hook handler tells the audit trail about a call it answered. The audit middleware writes exactly one record
/// per hook call whatever happens (401, 403, 413, 429, 412, 200, 500); this adds what only the handler knows.
/// </summary>
public interface IAuditSink
{
    /// <summary>Call once the answer is known. The patient id is hashed (keyed HMAC) here and never kept in clear.</summary>
    void Describe(HttpContext http, string hookInstance, string patientId, int cardCount, IEnumerable<string> findingCodes);
}

/// <summary>The part of an audit record the handler supplies (patient id already hashed).</summary>
public sealed record HookCallDescription(string HookInstance, string PatientHash, int CardCount, IReadOnlyList<string> FindingCodes);

/// <summary>Default sink: keeps the description on the request until the audit middleware writes the record.</summary>
public sealed class HookAuditSink(PatientIdHasher hasher) : IAuditSink
{
    public void Describe(HttpContext http, string hookInstance, string patientId, int cardCount, IEnumerable<string> findingCodes)
    {
        ArgumentNullException.ThrowIfNull(http);
        http.Features.Set(new HookCallDescription(hookInstance, hasher.Hash(patientId), cardCount, [.. findingCodes ?? []]));
    }
}
