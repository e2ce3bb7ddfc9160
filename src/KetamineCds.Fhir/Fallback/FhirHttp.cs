using System.Net;
using System.Net.Sockets;

namespace KetamineCds.Fhir.Fallback;

/// <summary>The HTTP client the fallback uses: one named client, a hardened primary handler.</summary>
public static class FhirHttp
{
    public const string ClientName = "KetamineCds.FhirServer";

    /// <summary>
    /// No redirects, no cookies, no proxy, no decompression (no zip bombs), and a connect callback that applies the SSRF
    /// policy to every resolved address of every new connection.
    /// </summary>
    public static SocketsHttpHandler CreatePrimaryHandler() => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        MaxResponseHeadersLength = 64,
        ConnectCallback = ConnectAsync,
    };

    /// <summary>
    /// Resolves the host itself and refuses the connection when ANY address is forbidden for this call, so that a name
    /// cannot resolve to a permitted address now and a forbidden one later (DNS rebinding): the socket connects only to
    /// the addresses checked here.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.InitialRequestMessage.Options.TryGetValue(FhirCallPolicy.Key, out var policy) || policy is null)
        {
            throw new FhirRequestRefusedException("A connection without a FHIR call policy was refused.");
        }

        var endpoint = context.DnsEndPoint;
        if (!string.Equals(endpoint.Host.Trim('[', ']'), policy.AllowedOrigin.IdnHost.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)
            || endpoint.Port != policy.AllowedOrigin.Port)
        {
            throw new FhirRequestRefusedException("A connection to a host other than the allow-listed FHIR server was refused.");
        }

        var addresses = IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endpoint.Host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new FhirRequestRefusedException("The FHIR server's name did not resolve.");
        }

        foreach (var address in addresses)
        {
            var addressClass = AddressPolicy.Classify(address);
            if (!AddressPolicy.IsPermitted(addressClass, policy.AllowPrivateAddress, policy.AllowLoopback))
            {
                throw new FhirRequestRefusedException($"The FHIR server resolved to a {addressClass} address; the connection was refused.");
            }
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, endpoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
