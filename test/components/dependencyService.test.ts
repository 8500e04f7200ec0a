import { describe, expect, it } from "vitest";
import { connectionUrl, isSql, kindOf, needsPassword, presetFor, serviceKinds } from "../../components/serviceKinds";
import { databaseService } from "../../components/environment";
import { ServiceSettings } from "../../components/config";

const service = (name: string, kind: ServiceSettings["kind"], extra: Partial<ServiceSettings> = {}): ServiceSettings =>
    ({ name, kind, image: "", hostPort: 0, env: {}, port: 0, dataPath: "", ...extra });

describe("service kinds, one table", () => {
    it("name a service's kind by its name unless it says otherwise", () => {
        expect(kindOf("postgres", undefined)).toBe("postgres");
        expect(kindOf("db", "mysql")).toBe("mysql");
    });

    it("say which kinds get a password, on one host and on several, and which speak SQL", () => {
        expect(serviceKinds.filter((kind) => needsPassword(kind, 1))).toEqual(["postgres", "mysql", "rabbitmq"]);
        expect(serviceKinds.filter((kind) => needsPassword(kind, 2))).toEqual(["redis", "postgres", "mysql", "rabbitmq"]);
        expect(serviceKinds.filter(isSql)).toEqual(["postgres", "mysql"]);
    });
});

describe("service presets", () => {
    it("default to the official images and their data paths", () => {
        expect(presetFor(service("cache", "redis"))).toMatchObject({ image: "redis:7", port: 6379, dataPath: "/data" });
        expect(presetFor(service("db", "postgres"))).toMatchObject({ image: "postgres:15", port: 5432, dataPath: "/var/lib/postgresql/data" });
        expect(presetFor(service("db", "mysql"))).toMatchObject({ image: "mysql:8", port: 3306, dataPath: "/var/lib/mysql" });
        expect(presetFor(service("queue", "rabbitmq"))).toMatchObject({ image: "rabbitmq:3", port: 5672, dataPath: "/var/lib/rabbitmq" });
    });

    it("follow each official image's environment contract", () => {
        expect(presetFor(service("db", "postgres")).env("pw")).toEqual({ POSTGRES_USER: "app", POSTGRES_DB: "app", POSTGRES_PASSWORD: "pw" });
        expect(presetFor(service("db", "mysql")).env("pw")).toMatchObject({ MYSQL_DATABASE: "app", MYSQL_USER: "app", MYSQL_PASSWORD: "pw" });
        expect(presetFor(service("q", "rabbitmq")).env("pw")).toEqual({ RABBITMQ_DEFAULT_USER: "app", RABBITMQ_DEFAULT_PASS: "pw" });
    });

    it("build connection URLs with the password escaped", () => {
        expect(connectionUrl(presetFor(service("db", "postgres")), "db", "p@ss/word")).toBe("postgres://app:p%40ss%2Fword@db:5432/app");
        expect(connectionUrl(presetFor(service("db", "mysql")), "orders", "pw")).toBe("mysql://app:pw@orders:3306/app");
        expect(connectionUrl(presetFor(service("q", "rabbitmq")), "queue", "pw")).toBe("amqp://app:pw@queue:5672/");
        expect(connectionUrl(presetFor(service("cache", "redis")), "cache", "")).toBe("redis://cache:6379");
    });

    it("let a custom service bring its own port, data path and healthcheck", () => {
        const custom = presetFor(service("search", "custom", { image: "opensearch:2", port: 9200, dataPath: "/usr/share/opensearch/data" }));
        expect(custom).toMatchObject({ image: "opensearch:2", port: 9200, dataPath: "/usr/share/opensearch/data" });
    });

    it("point DATABASE_URL at the first SQL service the app depends on", () => {
        const services = [service("cache", "redis"), service("orders", "mysql"), service("db", "postgres")];
        expect(databaseService(services, ["cache", "db", "orders"])).toBe("db");
        expect(databaseService(services, ["cache"])).toBeUndefined();
    });
});
