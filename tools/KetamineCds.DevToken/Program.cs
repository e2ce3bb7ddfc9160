using System.Security.Claims;
using KetamineCds.Api.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

// Signs a CDS client JWT with the Development issuer's key (.dev-keys/ at the repository root), for calling a service
// that runs in the Development environment. Usage:
//   dotnet run --project tools/KetamineCds.DevToken -- http://127.0.0.1:5080/cds-services/ketamine-order-sign [--lifetime 300] [--tenant T]
// Prints the token alone on stdout. A Production service never trusts this issuer.

if (args.Length == 0 || args[0] is "-h" or "--help" || !Uri.TryCreate(args[0], UriKind.Absolute, out var serviceUrl))
{
    Console.Error.WriteLine("usage: KetamineCds.DevToken <service URL, e.g. http://127.0.0.1:5080/cds-services/ketamine-order-sign> [--lifetime seconds] [--tenant id]");
    return 2;
}

var lifetimeSeconds = 300;
string? tenant = null;
for (var i = 1; i < args.Length - 1; i += 2)
{
    switch (args[i])
    {
        case "--lifetime" when int.TryParse(args[i + 1], out var seconds) && seconds is > 0 and <= 900:
            lifetimeSeconds = seconds;
            break;
        case "--tenant":
            tenant = args[i + 1];
            break;
        default:
            Console.Error.WriteLine($"unknown or invalid option '{args[i]}'");
            return 2;
    }
}

var directory = Environment.GetEnvironmentVariable("KetamineCds__Security__DevKeysDirectory")
    ?? DevelopmentIssuer.FindDefaultDirectory(Environment.CurrentDirectory, AppContext.BaseDirectory);
if (directory is null)
{
    Console.Error.WriteLine("cannot find the repository root (KetamineCds.sln); set KetamineCds__Security__DevKeysDirectory");
    return 1;
}

var key = DevelopmentIssuer.LoadOrCreateSigningKey(directory);
var now = DateTime.UtcNow;
var claims = new List<Claim> { new(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString()) };
if (tenant is not null)
{
    claims.Add(new Claim("tenant", tenant));
}

var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
{
    Issuer = DevelopmentIssuer.Issuer,
    // CDS Hooks 2.0: aud is the URL of the service endpoint being invoked, exactly.
    Audience = serviceUrl.OriginalString,
    IssuedAt = now,
    NotBefore = now,
    Expires = now.AddSeconds(lifetimeSeconds),
    Subject = new ClaimsIdentity(claims),
    SigningCredentials = new SigningCredentials(key, DevelopmentIssuer.Algorithm),
});
Console.WriteLine(token);
return 0;
