using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace KetamineCds.Api.CdsHooks;

/// <summary>JSON settings for the CDS Hooks wire: camelCase, and no null or empty members.</summary>
public static class CdsJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { OmitEmpty } },
        };
        options.MakeReadOnly();
        return options;
    }

    private static void OmitEmpty(JsonTypeInfo typeInfo)
    {
        foreach (var property in typeInfo.Properties)
        {
            if (property.PropertyType == typeof(string))
            {
                property.ShouldSerialize = (_, value) => value is string s && s.Length > 0;
            }
            else if (typeInfo.Type == typeof(CdsServiceResponse))
            {
                // CDS Hooks: a response always carries "cards", even when there are none.
                continue;
            }
            else if (typeof(IEnumerable).IsAssignableFrom(property.PropertyType))
            {
                property.ShouldSerialize = (_, value) => value is ICollection { Count: > 0 } or IEnumerable and not ICollection;
            }
        }
    }
}
