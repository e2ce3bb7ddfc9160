using System.Net.Http.Headers;

namespace KetamineCds.Fhir.Fallback;

/// <summary>
/// The outermost handler of one fetch (one per call, wrapped around the shared handler chain). Every request, the
/// first and each <c>next</c> link, must go to the allow-listed origin: anything else is refused before it is sent, so
/// the bearer token is attached only there. It also keeps the last response's status and body for the caller, which
/// reads Bundles with <see cref="Data.PrefetchReader"/> rather than Firely's parse.
/// </summary>
public sealed class FhirRequestGuard(FhirCallPolicy policy, string? accessToken) : DelegatingHandler
{
    public int RequestsSent { get; private set; }

    public int? LastStatus { get; private set; }

    public byte[]? LastBody { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        LastStatus = null;
        LastBody = null;
        if (request.RequestUri is not { IsAbsoluteUri: true } uri || !FhirServerUrls.SameOrigin(uri, policy.AllowedOrigin))
        {
            throw new FhirRequestRefusedException("A request to another origin than the allow-listed FHIR server was refused.");
        }

        request.Options.Set(FhirCallPolicy.Key, policy);
        request.Headers.Authorization = string.IsNullOrEmpty(accessToken) ? null : new AuthenticationHeaderValue("Bearer", accessToken);
        RequestsSent++;
        var response = await base.SendAsync(request, cancellationToken);

        // The resilience handler has already buffered the body within the size cap.
        LastStatus = (int)response.StatusCode;
        LastBody = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return response;
    }
}
