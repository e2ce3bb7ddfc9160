using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace KetamineCds.Api.Security;

/// <summary>
/// The Development-only CDS client: an EC P-384 key generated on first run into a git-ignored folder (.dev-keys/ at the
/// repository root), trusted by the service only in the Development environment and only when no client is configured.
/// This file is compiled into both the service and tools/KetamineCds.DevToken, so both find and read the same key.
/// </summary>
public static class DevelopmentIssuer
{
    /// <summary>The <c>iss</c> of development tokens. A URN so it can never be mistaken for a real EHR's URL.</summary>
    public const string Issuer = "urn:ketamine-cds:development-issuer";

    public const string Algorithm = SecurityAlgorithms.EcdsaSha384;

    private const string KeyFileName = "dev-issuer-es384.pem";

    /// <summary>.dev-keys/ beside the first KetamineCds.sln found walking up from each start directory, or null.</summary>
    public static string? FindDefaultDirectory(params string?[] startDirectories)
    {
        foreach (var start in startDirectories)
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "KetamineCds.sln")))
                {
                    return Path.Combine(dir.FullName, ".dev-keys");
                }
            }
        }

        return null;
    }

    /// <summary>Loads the development signing key, creating it (once, atomically, readable by the owner only) if absent.</summary>
    public static ECDsaSecurityKey LoadOrCreateSigningKey(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, KeyFileName);
        if (!File.Exists(path))
        {
            using var created = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            WriteOnce(path, created.ExportPkcs8PrivateKeyPem());
        }

        var ecdsa = ECDsa.Create();
        ecdsa.ImportFromPem(File.ReadAllText(path));
        return new ECDsaSecurityKey(ecdsa) { KeyId = Thumbprint(ecdsa) };
    }

    /// <summary>Loads (or creates) a random secret of <paramref name="bytes"/> bytes kept in the same folder.</summary>
    public static byte[] LoadOrCreateSecret(string directory, string fileName, int bytes)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, fileName);
        if (!File.Exists(path))
        {
            WriteOnce(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes)));
        }

        return Convert.FromBase64String(File.ReadAllText(path).Trim());
    }

    /// <summary>The public half as a JWK (no private parameters), with the same kid.</summary>
    public static JsonWebKey PublicJwk(ECDsaSecurityKey signingKey)
    {
        ArgumentNullException.ThrowIfNull(signingKey);
        var publicOnly = ECDsa.Create(signingKey.ECDsa.ExportParameters(includePrivateParameters: false));
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(publicOnly) { KeyId = signingKey.KeyId });
        jwk.Use = "sig";
        jwk.Alg = Algorithm;
        return jwk;
    }

    // RFC 7638 thumbprint of the public key: a stable kid that changes when the key file is replaced.
    private static string Thumbprint(ECDsa ecdsa)
    {
        using var publicOnly = ECDsa.Create(ecdsa.ExportParameters(includePrivateParameters: false));
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(publicOnly));
        return Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
    }

    // Two processes may start together (the service and the token tool): write to a temporary file and move it into
    // place without overwriting, so the first writer wins and the other reads the winner's key.
    private static void WriteOnce(string path, string content)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temporary, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
        }
    }
}
