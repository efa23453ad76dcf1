"""Settings from the environment: database settings, *_FILE secrets, validation, no secret in repr."""

from pathlib import Path

import pytest
from goaltrajectory.config import SECRET_NAMES, ConfigError, Secret, Settings, read_secret
from psycopg.conninfo import conninfo_to_dict


def test_defaults_start_without_any_secret() -> None:
    settings = Settings.from_env({})
    assert settings.environment == "development"
    assert settings.chroma_url == "http://localhost:8000"
    assert settings.secrets_status() == dict.fromkeys(SECRET_NAMES, False)
    params = conninfo_to_dict(settings.database_conninfo)
    assert params["host"] == "localhost" and params["dbname"] == "goaltrajectory" and "password" not in params


def test_postgres_parts_and_password_file(tmp_path: Path) -> None:
    password_file = tmp_path / "pg_password"
    password_file.write_text("s3cr et'pw\n")
    settings = Settings.from_env(
        {
            "POSTGRES_HOST": "db",
            "POSTGRES_PORT": "6543",
            "POSTGRES_DB": "gt",
            "POSTGRES_USER": "app",
            "POSTGRES_PASSWORD_FILE": str(password_file),
        }
    )
    params = conninfo_to_dict(settings.database_conninfo)
    assert params == params | {"host": "db", "port": "6543", "dbname": "gt", "user": "app", "password": "s3cr et'pw"}
    assert settings.database_target == "db:6543/gt"
    assert "s3cr" not in repr(settings)


def test_database_url_wins_and_takes_password_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("frompath")
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u@h:5433/d",
            "POSTGRES_HOST": "ignored",
            "POSTGRES_PASSWORD_FILE": str(tmp_path / "pw"),
        }
    )
    params = conninfo_to_dict(settings.database_conninfo)
    assert (params["host"], params["port"], params["dbname"], params["password"]) == ("h", "5433", "d", "frompath")


def test_invalid_database_url_message_does_not_echo_it() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"DATABASE_URL": "postgresql://u:hunter2@h:notaport/d?bogus=1"})
    assert "DATABASE_URL" in str(error.value) and "hunter2" not in str(error.value)


def test_secrets_from_env_and_files(tmp_path: Path) -> None:
    (tmp_path / "gemini").write_text("gem-value\n")
    settings = Settings.from_env(
        {"SUPABASE_SERVICE_ROLE_KEY": "sb-value", "GEMINI_API_KEY_FILE": str(tmp_path / "gemini")}
    )
    assert settings.secrets_status() == {
        "SUPABASE_SERVICE_ROLE_KEY": True,
        "GEMINI_API_KEY": True,
        "OPENROUTER_API_KEY": False,
    }
    assert settings.secrets["GEMINI_API_KEY"].reveal() == "gem-value"
    assert "sb-value" not in repr(settings) and "gem-value" not in str(settings)


def test_secret_value_and_file_together_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("x")
    with pytest.raises(ConfigError, match="both GEMINI_API_KEY and GEMINI_API_KEY_FILE"):
        read_secret({"GEMINI_API_KEY": "y", "GEMINI_API_KEY_FILE": str(tmp_path / "k")}, "GEMINI_API_KEY")


def test_unreadable_secret_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"OPENROUTER_API_KEY_FILE=.* cannot be read"):
        Settings.from_env({"OPENROUTER_API_KEY_FILE": str(tmp_path / "missing")})


def test_empty_secret_is_not_configured() -> None:
    assert not Secret("").configured
    assert repr(Secret("abc")) == "Secret(configured)"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"ENVIRONMENT": "moon"}, "ENVIRONMENT"),
        ({"CHROMA_PORT": "http"}, "CHROMA_PORT='http' is not an integer"),
        ({"CHROMA_PORT": "70000"}, "CHROMA_PORT=70000 is outside"),
        ({"DB_POOL_MIN_SIZE": "5", "DB_POOL_MAX_SIZE": "2"}, "DB_POOL_MAX_SIZE"),
        ({"MIGRATE_ON_START": "maybe"}, "MIGRATE_ON_START"),
        ({"CHROMA_COLLECTION": "x"}, "CHROMA_COLLECTION"),
    ],
)
def test_bad_values_name_the_variable(env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_version_from_app_version_or_version() -> None:
    assert Settings.from_env({"VERSION": "2.0.0"}).version == "2.0.0"
    assert Settings.from_env({"VERSION": "2.0.0", "APP_VERSION": "2.1.0"}).version == "2.1.0"
