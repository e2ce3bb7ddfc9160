using System.Text.Json;
using KetamineCds.Fhir.Data;

namespace KetamineCds.Api.CdsHooks;

/// <summary>A validated hook call. The JsonDocument it came from must outlive it (JsonElements point into it).</summary>
public sealed record HookRequest(
    string Hook,
    string HookInstance,
    string PatientId,
    string UserId,
    FhirServerAccess? Server,
    Uri? FhirServer,
    JsonElement? DraftOrders,
    IReadOnlySet<string>? Selections,
    IReadOnlyDictionary<string, JsonElement> Prefetch);

/// <summary>Why a request was refused: an HTTP status and a message for the OperationOutcome.</summary>
public sealed record RequestError(int Status, string Code, string Message);

/// <summary>
/// Validates a hook request body against CDS Hooks 2.0: the required fields, the context each hook requires, and
/// fhirAuthorization only with fhirServer. Every problem is a 400 with a message an integrator can act on.
/// </summary>
public static class HookRequestParser
{
    public static HookRequest Parse(JsonElement root, CdsService service, out RequestError? error)
    {
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = Invalid("The request body must be a JSON object.");
            return null!;
        }

        var hook = RequiredString(root, "hook", ref error);
        var hookInstance = RequiredString(root, "hookInstance", ref error);
        if (error is not null)
        {
            return null!;
        }

        if (hook != service.Descriptor.Hook)
        {
            error = Invalid($"Service '{service.Descriptor.Id}' answers the '{service.Descriptor.Hook}' hook, not '{Printable(hook)}'.");
            return null!;
        }

        if (!root.TryGetProperty("context", out var context) || context.ValueKind != JsonValueKind.Object)
        {
            error = Invalid("'context' is required and must be an object.");
            return null!;
        }

        var patientId = RequiredString(context, "patientId", ref error, "context.");
        var userId = RequiredString(context, "userId", ref error, "context.");
        if (error is not null)
        {
            return null!;
        }

        JsonElement? draftOrders = null;
        IReadOnlySet<string>? selections = null;
        if (hook is "order-select" or "order-sign")
        {
            if (!context.TryGetProperty("draftOrders", out var orders) || orders.ValueKind != JsonValueKind.Object
                || !orders.TryGetProperty("resourceType", out var rt) || rt.ValueKind != JsonValueKind.String || rt.GetString() != "Bundle")
            {
                error = Invalid("'context.draftOrders' is required and must be a FHIR Bundle.");
                return null!;
            }

            draftOrders = orders;
        }

        if (hook == "order-select")
        {
            if (!context.TryGetProperty("selections", out var selected) || selected.ValueKind != JsonValueKind.Array
                || selected.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
            {
                error = Invalid("'context.selections' is required for order-select and must be an array of strings.");
                return null!;
            }

            selections = selected.EnumerateArray().Select(s => s.GetString()!).ToHashSet(StringComparer.Ordinal);
        }

        Uri? fhirServer = null;
        if (root.TryGetProperty("fhirServer", out var serverElement) && serverElement.ValueKind != JsonValueKind.Null)
        {
            if (serverElement.ValueKind != JsonValueKind.String
                || !Uri.TryCreate(serverElement.GetString(), UriKind.Absolute, out fhirServer)
                || (fhirServer.Scheme != Uri.UriSchemeHttps && fhirServer.Scheme != Uri.UriSchemeHttp))
            {
                error = Invalid("'fhirServer' must be an absolute http(s) URL.");
                return null!;
            }
        }

        FhirServerAccess? access = null;
        if (root.TryGetProperty("fhirAuthorization", out var auth) && auth.ValueKind != JsonValueKind.Null)
        {
            if (fhirServer is null)
            {
                error = Invalid("'fhirAuthorization' was sent without 'fhirServer'.");
                return null!;
            }

            if (auth.ValueKind != JsonValueKind.Object)
            {
                error = Invalid("'fhirAuthorization' must be an object.");
                return null!;
            }

            var token = RequiredString(auth, "access_token", ref error, "fhirAuthorization.");
            var tokenType = RequiredString(auth, "token_type", ref error, "fhirAuthorization.");
            if (error is not null)
            {
                return null!;
            }

            if (!string.Equals(tokenType, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                error = Invalid("'fhirAuthorization.token_type' must be 'Bearer'.");
                return null!;
            }

            access = new FhirServerAccess(fhirServer, token, tokenType, OptionalString(auth, "scope"));
        }
        else if (fhirServer is not null)
        {
            // A FHIR server without a token: only an open server would answer; the fallback decides.
            access = new FhirServerAccess(fhirServer, null, null, null);
        }

        var prefetch = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (root.TryGetProperty("prefetch", out var prefetchElement) && prefetchElement.ValueKind != JsonValueKind.Null)
        {
            if (prefetchElement.ValueKind != JsonValueKind.Object)
            {
                error = Invalid("'prefetch' must be an object.");
                return null!;
            }

            foreach (var property in prefetchElement.EnumerateObject())
            {
                prefetch[property.Name] = property.Value;
            }
        }

        return new HookRequest(hook!, hookInstance!, patientId!, userId!, access, fhirServer, draftOrders, selections, prefetch);
    }

    private static string? RequiredString(JsonElement parent, string name, ref RequestError? error, string prefix = "")
    {
        if (error is not null)
        {
            return null;
        }

        if (parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString()))
        {
            return value.GetString();
        }

        error = Invalid($"'{prefix}{name}' is required and must be a non-empty string.");
        return null;
    }

    private static string? OptionalString(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Caller text echoed in an error: at most 64 printable characters.</summary>
    private static string Printable(string? text)
    {
        var printable = new string((text ?? "").Where(c => !char.IsControl(c)).Take(64).ToArray());
        return (text?.Length ?? 0) > 64 ? printable + "..." : printable;
    }

    private static RequestError Invalid(string message) => new(StatusCodes.Status400BadRequest, "invalid", message);
}
