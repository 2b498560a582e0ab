"""The service's process settings, read from the environment (see `.env.example`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.checkpoints import checkpoints_target

# Values people copy from examples; a service that accepts them as the admin token is open to anyone.
_PLACEHOLDERS = frozenset({"changethis", "changeme", "secret", "admin", "password", "token"})
MIN_ADMIN_TOKEN = 16


class ServiceSettings(BaseSettings):
    """Where the service keeps its data and who may administer it.

    No admin token, no admin API: shops and owner tokens can then only be made from the command line.
    """

    # Names in code (`ServiceSettings(home=…)`), variables in the environment; the prefix keeps a field's own name
    # from being read as a variable too (`home` ← $HOME, `scheduler` ← $SCHEDULER) when populate_by_name is on.
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="XIAOER_")

    database_url: str | None = Field(
        None, validation_alias="DATABASE_URL",
        description="SQLAlchemy URL of the app database; default SQLite under XIAOER_HOME.")
    admin_token: SecretStr | None = Field(
        None, validation_alias="XIAOER_ADMIN_TOKEN",
        description=f"Bearer token of the admin API (shops, owner tokens); at least {MIN_ADMIN_TOKEN} characters.")
    home: Path = Field(
        Path(".xiaoer"), validation_alias="XIAOER_HOME",
        description="Directory for the SQLite database, checkpoints and report files.")
    checkpoints: str | None = Field(
        None, validation_alias="XIAOER_CHECKPOINTS",
        description="Run and chat checkpoints: a PostgreSQL URL or a SQLite path; default beside the database.")
    reports_dir: Path | None = Field(
        None, validation_alias="XIAOER_REPORTS_DIR",
        description="When set, daily reports are also written there as files.")
    scheduler: bool = Field(
        True, validation_alias="XIAOER_SCHEDULER",
        description="Run each shop's daily run at its time and expire stale approvals in this process; "
                    "false when another process (or nothing) does that.")
    queue_url: str | None = Field(
        None, validation_alias="XIAOER_QUEUE_URL",
        description="A Redis URL (redis://host:6379/0): the scheduler puts daily runs on a queue there for "
                    "`xiaoer worker` processes, and shop locks live there. Unset: runs happen in this process.")
    lock_lease: float = Field(
        60.0, gt=0, validation_alias="XIAOER_LOCK_LEASE",
        description="With XIAOER_QUEUE_URL: seconds after which a shop's lock held by a dead process frees itself.")
    public_url: str | None = Field(
        None, validation_alias="XIAOER_PUBLIC_URL",
        description="The address owners reach this service at (e.g. https://xiaoer.example.com); the "
                    "webhook's report links start with it. Unset: the webhook sends no links.")

    @field_validator("database_url", "checkpoints", "reports_dir", "home", "public_url", "scheduler", "queue_url",
                     "lock_lease", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        # A copied .env leaves `NAME=` lines: an empty value means "not set", never "the current directory".
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[info.field_name].default if info.field_name else None
        return value

    @field_validator("queue_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("XIAOER_QUEUE_URL: give a Redis URL such as redis://127.0.0.1:6379/0")
        return value

    @field_validator("admin_token")
    @classmethod
    def _refuse_weak_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        token = value.get_secret_value()
        if token.lower() in _PLACEHOLDERS or len(token) < MIN_ADMIN_TOKEN:
            raise ValueError(f"XIAOER_ADMIN_TOKEN: use a random value of at least {MIN_ADMIN_TOKEN} characters "
                             "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        return value

    @property
    def admin(self) -> str | None:
        """The admin token in clear, or None when the admin API is off."""
        return self.admin_token.get_secret_value() if self.admin_token is not None else None

    def database(self) -> str:
        """The app database URL: DATABASE_URL, else `<home>/xiaoer.db`, its directory made if missing."""
        if self.database_url:
            return self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.home / 'xiaoer.db'}"

    def checkpoint_target(self) -> str | Path:
        """Where checkpoints live, by the one rule of `agent.checkpoints.checkpoints_target`: XIAOER_CHECKPOINTS,
        else the app database when it is PostgreSQL, else `<home>/checkpoints.sqlite`."""
        return checkpoints_target(checkpoints=self.checkpoints, database_url=self.database_url, home=self.home)


def settings_or_exit() -> ServiceSettings:
    """The settings, for a command: a bad variable is said on stderr, as pydantic names it and why, and the
    command exits with status 2 instead of a traceback."""
    import typer
    from pydantic import ValidationError

    try:
        return ServiceSettings()
    except ValidationError as exc:
        typer.echo(f"settings from the environment 环境变量设置有误:\n{exc}", err=True)
        raise typer.Exit(2) from None
